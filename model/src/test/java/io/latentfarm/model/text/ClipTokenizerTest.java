package io.latentfarm.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.model.files.ModelException;
import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

class ClipTokenizerTest {

    private static ClipTokenizer fixtureTokenizer() {
        return ClipTokenizer.load(Reference.tinyModel().resolve("tokenizer"));
    }

    /** Every tokenizer case: 77 ids equal to the reference, and num_tokens_unpadded / truncated. */
    @Test
    void everyCaseMatchesTheReferenceIds() {
        ClipTokenizer tokenizer = fixtureTokenizer();
        List<JsonNode> cases = Reference.cases("tokenizer");
        assertEquals(17, cases.size());
        List<String> failures = new ArrayList<>();
        for (JsonNode c : cases) {
            String name = c.get("name").asText();
            long[] expected = Reference.tensors("tokenizer").longs(c.get("input_ids").asText());
            ClipTokens actual = tokenizer.encode(c.get("prompt").asText());
            String problem = compare(expected, actual.ids());
            if (problem != null) failures.add(name + ": " + problem);
            if (actual.tokens() != c.get("num_tokens_unpadded").asInt()) {
                failures.add(name + ": tokens " + actual.tokens() + ", expected " + c.get("num_tokens_unpadded").asInt());
            }
            if (actual.truncated() != c.get("truncated").asBoolean()) {
                failures.add(name + ": truncated " + actual.truncated() + ", expected " + c.get("truncated").asBoolean());
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    /** The cleaner alone gives each case's normalized_text (ftfy, html unescape, whitespace, lower). */
    @Test
    void cleanerGivesEveryCaseItsNormalizedText() {
        List<String> failures = new ArrayList<>();
        for (JsonNode c : Reference.cases("tokenizer")) {
            String expected = c.get("normalized_text").asText();
            String actual = ClipTextCleaner.clean(c.get("prompt").asText());
            if (!expected.equals(actual)) {
                failures.add(c.get("name").asText() + ": expected \"" + expected + "\", got \"" + actual + "\"");
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @Test
    void cleanerFixesWhatFtfyAndHtmlUnescapeFix() {
        assertEquals("café", ClipTextCleaner.clean("cafÃ©"));                  // UTF-8 read as Windows-1252
        assertEquals("\"hi\" it's", ClipTextCleaner.clean("\u0093hi\u0094 it\u2019s")); // C1 controls as cp1252
        assertEquals("a < b", ClipTextCleaner.clean("a &amp;lt; b"));          // unescaped twice
        assertEquals("ab", ClipTextCleaner.clean("a\u0000b"));                 // control characters removed
        assertEquals("a b", ClipTextCleaner.clean("a\u3000\u00a0b"));
        assertEquals("é", ClipTextCleaner.clean("&eacute"));                   // html5 name without ';'
        assertEquals("\u20ac", ClipTextCleaner.clean("&#128;"));               // Python's invalid charref table
    }

    @Test
    void bundledTokenizerIsTheFixtureTokenizer() {
        ClipTokenizer bundled = ClipTokenizer.bundled();
        assertSame(bundled, ClipTokenizer.bundled());
        ClipTokenizer fixture = fixtureTokenizer();
        assertEquals(77, bundled.maxLength());
        assertEquals(49406, bundled.bosId());
        assertEquals(49407, bundled.eosId());
        assertEquals(49407, bundled.padId());
        for (JsonNode c : Reference.cases("tokenizer")) {
            String p = c.get("prompt").asText();
            assertArrayEquals(fixture.encode(p).ids(), bundled.encode(p).ids(), c.get("name").asText());
        }
    }

    /** One instance is shared by concurrent jobs: concurrent encodes on a cold cache agree with sequential ones. */
    @Test
    void concurrentEncodesAgreeWithSequentialOnes() throws Exception {
        List<String> prompts = new ArrayList<>();
        Reference.cases("tokenizer").forEach(c -> prompts.add(c.get("prompt").asText()));
        List<long[]> sequential = new ArrayList<>();
        ClipTokenizer reference = fixtureTokenizer();
        for (String p : prompts) sequential.add(reference.encode(p).ids());

        ClipTokenizer shared = fixtureTokenizer();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int offset = t;
                results.add(pool.submit(() -> {
                    for (int round = 0; round < 20; round++) {
                        for (int i = 0; i < prompts.size(); i++) {
                            int k = (i + offset + round) % prompts.size();
                            if (!Arrays.equals(sequential.get(k), shared.encode(prompts.get(k)).ids())) return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : results) assertTrue(f.get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void missingFilesNameTheFile(@TempDir Path dir) throws Exception {
        String noDir = assertThrows(ModelException.class, () -> ClipTokenizer.load(dir.resolve("nope"))).getMessage();
        assertTrue(noDir.contains("nope") && noDir.contains("not found"), noDir);
        Files.writeString(dir.resolve("vocab.json"), "{}");
        String noMerges = assertThrows(ModelException.class, () -> ClipTokenizer.load(dir)).getMessage();
        assertTrue(noMerges.contains("merges.txt") && noMerges.contains("not found"), noMerges);
    }

    /** null when equal, else the first differing position. */
    static String compare(long[] expected, long[] actual) {
        if (expected.length != actual.length) {
            return "length " + actual.length + ", expected " + expected.length;
        }
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                return "first difference at position " + i + ": got " + actual[i] + ", expected " + expected[i]
                        + " (got " + Arrays.toString(Arrays.copyOfRange(actual, Math.max(0, i - 2), Math.min(actual.length, i + 5)))
                        + ", expected " + Arrays.toString(Arrays.copyOfRange(expected, Math.max(0, i - 2), Math.min(expected.length, i + 5))) + ")";
            }
        }
        return null;
    }
}
