package io.latentfarm.model.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.files.Configs;

import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * A scheduler's configuration as diffusers resolves {@code XScheduler.from_config(config, **overrides)}:
 * the class's {@code __init__} defaults, overlaid with the keys of the given config that the class
 * accepts (other keys are ignored; keys listed in {@code _use_default_values} keep the class default),
 * then the overrides. {@code values} holds every accepted key, so it reads like the
 * {@code scheduler.config} diffusers would report.
 */
public record SchedulerConfig(String className, ObjectNode values) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static SchedulerConfig resolve(String className, ObjectNode defaults, JsonNode config,
                                          Map<String, ?> overrides) {
        ObjectNode values = defaults.deepCopy();
        Set<String> keepDefault = new HashSet<>();
        JsonNode useDefaults = config == null ? null : config.get("_use_default_values");
        if (useDefaults != null && useDefaults.isArray()) useDefaults.forEach(k -> keepDefault.add(k.asText()));
        if (config != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = config.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (defaults.has(e.getKey()) && !keepDefault.contains(e.getKey())) values.set(e.getKey(), e.getValue());
            }
        }
        if (overrides != null) overrides.forEach((k, v) -> values.set(k, JSON.valueToTree(v)));
        return new SchedulerConfig(className, values);
    }

    public int getInt(String key) {
        return Configs.getInt(values, key, 0);
    }

    public double getDouble(String key) {
        return Configs.getDouble(values, key, Double.NaN);
    }

    public boolean getBool(String key) {
        return Configs.getBool(values, key, false);
    }

    public String getString(String key) {
        return Configs.getString(values, key, null);
    }

    public boolean isNull(String key) {
        JsonNode v = values.get(key);
        return v == null || v.isNull();
    }

    /** A list of numbers as float32 (trained_betas), or null. */
    public float[] getFloats(String key) {
        JsonNode v = values.get(key);
        if (v == null || v.isNull()) return null;
        float[] out = new float[v.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) v.get(i).asDouble();
        return out;
    }

    /** A small builder for the per-class defaults (JSON null allowed). */
    static ObjectNode defaults(Object... keyValues) {
        ObjectNode n = JSON.createObjectNode();
        for (int i = 0; i < keyValues.length; i += 2) n.set((String) keyValues[i], JSON.valueToTree(keyValues[i + 1]));
        return n;
    }

    /** The keys every beta-schedule scheduler accepts, with diffusers' defaults. */
    static Object[] betaDefaults() {
        return new Object[] {"num_train_timesteps", 1000, "beta_start", 0.0001, "beta_end", 0.02,
                "beta_schedule", "linear", "trained_betas", null};
    }

    static ObjectNode defaults(Object[] common, Object... more) {
        Object[] all = new Object[common.length + more.length];
        System.arraycopy(common, 0, all, 0, common.length);
        System.arraycopy(more, 0, all, common.length, more.length);
        return defaults(all);
    }

    /** Fails for a setting this port does not implement, naming it. */
    void require(boolean supported, String what) {
        if (!supported) {
            throw new UnsupportedOperationException(className + ": " + what + " is not supported");
        }
    }
}
