package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import static io.latentfarm.cli.CliTestSupport.run;
import static io.latentfarm.cli.CliTestSupport.tinyModel;
import static org.junit.jupiter.api.Assertions.*;

class TokensCommandTest {

    @Test
    void printsTheIdsOfEveryFixturePromptAsOneJsonLine() throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode cases = json.readTree(tinyModel().resolve("reference/cases.json").toFile()).get("tokenizer").get("cases");
        for (JsonNode c : cases) {
            String name = c.get("name").asText();
            CliTestSupport.Run r = run("tokens", "--model", tinyModel().toString(), "--prompt", c.get("prompt").asText());
            assertEquals(0, r.code(), name + ": " + r.err());
            assertTrue(r.out().endsWith("\n") && r.out().indexOf('\n') == r.out().length() - 1, name + ": one line");
            String line = r.out().trim();
            assertFalse(line.contains(" "), name + ": compact JSON");
            JsonNode got = json.readTree(line);
            assertEquals(77, got.get("ids").size(), name);
            JsonNode unpadded = c.get("ids_unpadded");
            int kept = Math.min(unpadded.size(), 77);
            for (int i = 0; i < 77; i++) {
                long expected = i < kept ? unpadded.get(i).asLong() : 49407;
                if (i == 76 && unpadded.size() > 77) expected = 49407;
                assertEquals(expected, got.get("ids").get(i).asLong(), name + ": id at " + i);
            }
            assertEquals(c.get("num_tokens_unpadded").asInt(), got.get("tokens").asInt(), name);
            assertEquals(c.get("truncated").asBoolean(), got.get("truncated").asBoolean(), name);
        }
    }

    @Test
    void exactOutputForOnePrompt() {
        CliTestSupport.Run r = run("tokens", "--model", tinyModel().toString(), "--prompt", "a photo of a cat");
        StringBuilder ids = new StringBuilder("49406,320,1125,539,320,2368,49407");
        for (int i = 7; i < 77; i++) ids.append(",49407");
        assertEquals("{\"ids\":[" + ids + "],\"tokens\":7,\"truncated\":false}", r.out().trim());
    }

    @Test
    void missingModelOrTokenizerIsOneLineError(@TempDir Path dir) throws Exception {
        CliTestSupport.Run missing = run("tokens", "--model", dir.resolve("nope").toString(), "--prompt", "x");
        assertEquals(1, missing.code());
        assertEquals("", missing.out());
        assertTrue(missing.err().startsWith("latentfarm: ") && missing.err().contains("nope"), missing.err());
        assertEquals(1, missing.err().trim().lines().count(), missing.err());

        Files.writeString(dir.resolve("model_index.json"), "{}");
        Files.createDirectories(dir.resolve("tokenizer"));
        Files.writeString(dir.resolve("tokenizer/vocab.json"), "{}");
        CliTestSupport.Run noMerges = run("tokens", "--model", dir.toString(), "--prompt", "x");
        assertEquals(1, noMerges.code());
        assertTrue(noMerges.err().startsWith("latentfarm: ") && noMerges.err().contains("merges.txt")
                && noMerges.err().contains("not found"), noMerges.err());
        assertEquals(1, noMerges.err().trim().lines().count(), noMerges.err());
    }
}
