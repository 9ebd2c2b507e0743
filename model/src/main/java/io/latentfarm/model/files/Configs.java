package io.latentfarm.model.files;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads typed values out of a diffusers/transformers {@code config.json}: a key that is absent or
 * null takes diffusers' default; unknown keys are ignored; a key of the wrong type is an error that
 * names it. Non-finite floats may be written as the strings "Infinity", "-Infinity", "NaN".
 */
public final class Configs {
    private Configs() {
    }

    public static int getInt(JsonNode n, String key, int dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber() || v.asDouble() != Math.rint(v.asDouble())) throw wrongType(key, "an integer", v);
        return v.asInt();
    }

    public static double getDouble(JsonNode n, String key, double dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (v.isNumber()) return v.asDouble();
        if (v.isTextual()) {
            switch (v.asText()) {
                case "Infinity": return Double.POSITIVE_INFINITY;
                case "-Infinity": return Double.NEGATIVE_INFINITY;
                case "NaN": return Double.NaN;
                default: break;
            }
        }
        throw wrongType(key, "a number", v);
    }

    public static boolean getBool(JsonNode n, String key, boolean dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw wrongType(key, "true or false", v);
        return v.asBoolean();
    }

    public static String getString(JsonNode n, String key, String dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isTextual()) throw wrongType(key, "a string", v);
        return v.asText();
    }

    /** An int list; a single number becomes a list of {@code length} copies (attention_head_dim). */
    public static int[] getIntList(JsonNode n, String key, int[] dflt, int length) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (v.isNumber()) {
            int[] out = new int[length];
            java.util.Arrays.fill(out, v.asInt());
            return out;
        }
        if (!v.isArray()) throw wrongType(key, "a list of integers", v);
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).isNumber()) throw wrongType(key, "a list of integers", v);
            out[i] = v.get(i).asInt();
        }
        return out;
    }

    public static List<String> getStringList(JsonNode n, String key, List<String> dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isArray()) throw wrongType(key, "a list of strings", v);
        List<String> out = new ArrayList<>();
        v.forEach(x -> out.add(x.asText()));
        return List.copyOf(out);
    }

    /** A bool per block; a single bool applies to all {@code length} blocks (only_cross_attention). */
    public static boolean[] getBoolList(JsonNode n, String key, boolean dflt, int length) {
        JsonNode v = n.get(key);
        boolean[] out = new boolean[length];
        if (v == null || v.isNull() || v.isBoolean()) {
            java.util.Arrays.fill(out, v != null && v.isBoolean() ? v.asBoolean() : dflt);
            return out;
        }
        if (!v.isArray()) throw wrongType(key, "true/false or a list of them", v);
        for (int i = 0; i < Math.min(length, v.size()); i++) out[i] = v.get(i).asBoolean();
        return out;
    }

    private static ModelException wrongType(String key, String expected, JsonNode v) {
        return new ModelException("config key '" + key + "' should be " + expected + ", found " + v);
    }
}
