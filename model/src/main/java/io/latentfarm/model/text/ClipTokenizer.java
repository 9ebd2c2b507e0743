package io.latentfarm.model.text;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.latentfarm.model.files.ModelException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OpenAI CLIP's byte-level BPE tokenizer (clip/simple_tokenizer.py) read from a diffusers
 * {@code tokenizer/} folder ({@code vocab.json}, {@code merges.txt}, {@code tokenizer_config.json},
 * {@code special_tokens_map.json}), with Stable Diffusion's framing: bos + ids + eos, truncated to
 * {@code model_max_length} keeping eos last, padded with the pad token.
 *
 * <p>Immutable apart from a concurrent word cache: one instance is shared by concurrent jobs.
 */
public final class ClipTokenizer {
    private static final String BUNDLED = "clip/";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DEFAULT_BOS = "<|startoftext|>";
    private static final String DEFAULT_EOS = "<|endoftext|>";
    private static final int DEFAULT_MAX_LENGTH = 77;
    /** The cache holds words seen in prompts; cleared when it grows past this (prompts are user input). */
    private static final int CACHE_LIMIT = 100_000;

    /** CLIP's pre-tokenizer; the text is already lower case, so the original's IGNORECASE changes nothing. */
    private static final Pattern PRE_TOKENIZER = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);

    private static final String[] BYTE_TO_UNICODE = bytesToUnicode();
    private static volatile ClipTokenizer bundled;

    private final Map<String, Integer> vocab;
    private final Map<String, Integer> mergeRanks;
    private final int maxLength;
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final int unkId;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private ClipTokenizer(Map<String, Integer> vocab, List<String> merges, int maxLength,
                          String bos, String eos, String pad, String unk, String where) {
        this.vocab = Map.copyOf(vocab);
        Map<String, Integer> ranks = new HashMap<>(merges.size() * 2);
        for (int i = 0; i < merges.size(); i++) {
            ranks.putIfAbsent(merges.get(i), i);
        }
        this.mergeRanks = Map.copyOf(ranks);
        this.maxLength = maxLength;
        this.bosId = special(bos, "bos_token", where);
        this.eosId = special(eos, "eos_token", where);
        this.padId = special(pad, "pad_token", where);
        this.unkId = special(unk, "unk_token", where);
        if (maxLength < 2) {
            throw new ModelException(where + ": model_max_length " + maxLength + " leaves no room for bos and eos");
        }
    }

    private int special(String token, String key, String where) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new ModelException(where + ": " + key + " '" + token + "' is not in vocab.json");
        }
        return id;
    }

    /** The tokenizer of a diffusers {@code tokenizer/} folder. */
    public static ClipTokenizer load(Path tokenizerDir) {
        if (!Files.isDirectory(tokenizerDir)) {
            throw new ModelException(tokenizerDir + ": tokenizer folder not found");
        }
        Path vocabFile = requireFile(tokenizerDir.resolve("vocab.json"));
        Path mergesFile = requireFile(tokenizerDir.resolve("merges.txt"));
        try (InputStream vocab = Files.newInputStream(vocabFile);
             InputStream merges = Files.newInputStream(mergesFile)) {
            JsonNode config = readOptionalJson(tokenizerDir.resolve("tokenizer_config.json"));
            JsonNode specials = readOptionalJson(tokenizerDir.resolve("special_tokens_map.json"));
            return create(vocab, vocabFile.toString(), merges, mergesFile.toString(), config, specials,
                    tokenizerDir.toString());
        } catch (IOException e) {
            throw new ModelException(tokenizerDir + ": cannot read tokenizer (" + e.getMessage() + ")", e);
        }
    }

    /** The CLIP ViT-L/14 tokenizer of SD v1, bundled as classpath resources. */
    public static ClipTokenizer bundled() {
        ClipTokenizer t = bundled;
        if (t == null) {
            synchronized (ClipTokenizer.class) {
                t = bundled;
                if (t == null) {
                    t = loadBundled();
                    bundled = t;
                }
            }
        }
        return t;
    }

    private static ClipTokenizer loadBundled() {
        try (InputStream vocab = resource("vocab.json");
             InputStream merges = resource("merges.txt");
             InputStream config = resource("tokenizer_config.json");
             InputStream specials = resource("special_tokens_map.json")) {
            return create(vocab, "bundled vocab.json", merges, "bundled merges.txt",
                    JSON.readTree(config), JSON.readTree(specials), "bundled CLIP tokenizer");
        } catch (IOException e) {
            throw new ModelException("bundled CLIP tokenizer: cannot read (" + e.getMessage() + ")", e);
        }
    }

    private static InputStream resource(String name) {
        InputStream in = ClipTokenizer.class.getResourceAsStream(BUNDLED + name);
        if (in == null) {
            throw new ModelException("bundled CLIP tokenizer: resource " + name + " is missing from the class path");
        }
        return in;
    }

    private static ClipTokenizer create(InputStream vocabIn, String vocabName, InputStream mergesIn,
                                        String mergesName, JsonNode config, JsonNode specials, String where) {
        Map<String, Integer> vocab;
        try {
            vocab = JSON.readValue(vocabIn, new TypeReference<Map<String, Integer>>() { });
        } catch (IOException e) {
            throw new ModelException(vocabName + ": invalid vocabulary (" + firstLine(e) + ")", e);
        }
        List<String> merges = new ArrayList<>();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(mergesIn, StandardCharsets.UTF_8));
            int lineNo = 0;
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (lineNo == 1 && line.startsWith("#version")) continue;
                if (line.isBlank()) continue;
                String[] parts = line.trim().split(" ");
                if (parts.length != 2) {
                    throw new ModelException(mergesName + ": line " + lineNo + " is not a pair of symbols");
                }
                merges.add(parts[0] + " " + parts[1]);
            }
        } catch (IOException e) {
            throw new ModelException(mergesName + ": cannot read (" + firstLine(e) + ")", e);
        }
        String eos = token(specials, config, "eos_token", DEFAULT_EOS);
        return new ClipTokenizer(vocab, merges, maxLength(config),
                token(specials, config, "bos_token", DEFAULT_BOS), eos,
                token(specials, config, "pad_token", eos), token(specials, config, "unk_token", eos), where);
    }

    /** model_max_length; transformers writes a huge number when the model sets no limit. */
    private static int maxLength(JsonNode config) {
        JsonNode v = config == null ? null : config.get("model_max_length");
        if (v == null || !v.isNumber() || v.asDouble() > 1e6 || v.asDouble() < 1) return DEFAULT_MAX_LENGTH;
        return v.asInt();
    }

    /** A special token: a string or an AddedToken object {content: ...}; special_tokens_map.json first. */
    private static String token(JsonNode specials, JsonNode config, String key, String dflt) {
        for (JsonNode n : new JsonNode[] {specials, config}) {
            JsonNode v = n == null ? null : n.get(key);
            if (v == null || v.isNull()) continue;
            if (v.isTextual()) return v.asText();
            if (v.isObject() && v.get("content") != null && v.get("content").isTextual()) {
                return v.get("content").asText();
            }
        }
        return dflt;
    }

    private static Path requireFile(Path p) {
        if (!Files.isRegularFile(p)) {
            throw new ModelException(p + ": file not found");
        }
        return p;
    }

    private static JsonNode readOptionalJson(Path p) {
        if (!Files.isRegularFile(p)) return null;
        try {
            return JSON.readTree(p.toFile());
        } catch (IOException e) {
            throw new ModelException(p + ": invalid JSON (" + firstLine(e) + ")", e);
        }
    }

    private static String firstLine(Exception e) {
        return e.getMessage() == null ? e.toString() : e.getMessage().split("\n")[0];
    }

    public int maxLength() {
        return maxLength;
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    public int padId() {
        return padId;
    }

    public int vocabSize() {
        return vocab.size();
    }

    /**
     * The prompt as the text encoder takes it: {@link #maxLength()} ids, bos + BPE ids + eos, cut to
     * fit with eos kept last, padded with the pad id.
     */
    public ClipTokens encode(String prompt) {
        List<Integer> bpe = tokenize(prompt);
        int tokens = bpe.size() + 2;
        long[] ids = new long[maxLength];
        java.util.Arrays.fill(ids, padId);
        ids[0] = bosId;
        int kept = Math.min(bpe.size(), maxLength - 2);
        for (int i = 0; i < kept; i++) {
            ids[i + 1] = bpe.get(i);
        }
        ids[kept + 1] = eosId;
        return new ClipTokens(ids, tokens, tokens > maxLength);
    }

    /** BPE ids of the cleaned prompt, without bos/eos and without truncation. */
    public List<Integer> tokenize(String prompt) {
        String text = ClipTextCleaner.clean(prompt);
        List<Integer> out = new ArrayList<>();
        Matcher m = PRE_TOKENIZER.matcher(text);
        while (m.find()) {
            for (int id : word(m.group())) {
                out.add(id);
            }
        }
        return out;
    }

    private int[] word(String token) {
        int[] ids = cache.get(token);
        if (ids != null) return ids;
        ids = encodeWord(token);
        if (cache.size() >= CACHE_LIMIT) cache.clear();
        cache.put(token, ids);
        return ids;
    }

    /** One pre-token: the special tokens as they are, anything else byte-encoded and merged. */
    private int[] encodeWord(String token) {
        if (token.equals(DEFAULT_BOS) || token.equals(DEFAULT_EOS)) {
            Integer id = vocab.get(token);
            if (id != null) return new int[] {id};
        }
        byte[] bytes = token.getBytes(StandardCharsets.UTF_8);
        List<String> symbols = new ArrayList<>(bytes.length);
        for (byte b : bytes) {
            symbols.add(BYTE_TO_UNICODE[b & 0xff]);
        }
        int last = symbols.size() - 1;
        symbols.set(last, symbols.get(last) + "</w>");
        bpe(symbols);
        int[] ids = new int[symbols.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = vocab.getOrDefault(symbols.get(i), unkId);
        }
        return ids;
    }

    /** Repeatedly merges every occurrence of the lowest-ranked adjacent pair, as simple_tokenizer.bpe. */
    private void bpe(List<String> symbols) {
        while (symbols.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String first = null;
            String second = null;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = mergeRanks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    first = symbols.get(i);
                    second = symbols.get(i + 1);
                }
            }
            if (first == null) return;
            List<String> merged = new ArrayList<>(symbols.size());
            int i = 0;
            while (i < symbols.size()) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(first) && symbols.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i += 2;
                } else {
                    merged.add(symbols.get(i));
                    i++;
                }
            }
            symbols.clear();
            symbols.addAll(merged);
        }
    }

    /** GPT-2/CLIP's reversible byte -> printable character map. */
    private static String[] bytesToUnicode() {
        String[] map = new String[256];
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
            map[b] = String.valueOf((char) (printable ? b : 256 + extra++));
        }
        return map;
    }
}
