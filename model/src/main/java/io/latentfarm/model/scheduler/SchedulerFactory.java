package io.latentfarm.model.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.latentfarm.common.SchedulerRegistry;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Map.Entry;
import java.util.function.BiFunction;

/**
 * Builds a scheduler the way {@code XScheduler.from_config(pipe.scheduler.config, **overrides)} does
 * in diffusers 0.31: the given config's keys that class accepts, that class's defaults for the rest
 * (so e.g. Euler gets timestep_spacing "linspace" from an SD v1 PNDM folder, DDIM keeps its betas
 * and steps_offset), then the overrides. Which class and overrides a short name means is
 * {@link SchedulerRegistry}'s table; this maps the class names to their implementations.
 */
public final class SchedulerFactory {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, BiFunction<JsonNode, Map<String, ?>, Scheduler>> CLASSES = new LinkedHashMap<>();

    static {
        CLASSES.put(PndmScheduler.CLASS_NAME, PndmScheduler::fromConfig);
        CLASSES.put(DdimScheduler.CLASS_NAME, DdimScheduler::fromConfig);
        CLASSES.put(LmsDiscreteScheduler.CLASS_NAME, LmsDiscreteScheduler::fromConfig);
        CLASSES.put(EulerDiscreteScheduler.CLASS_NAME, EulerDiscreteScheduler::fromConfig);
        CLASSES.put(EulerAncestralDiscreteScheduler.CLASS_NAME, EulerAncestralDiscreteScheduler::fromConfig);
        CLASSES.put(DpmSolverMultistepScheduler.CLASS_NAME, DpmSolverMultistepScheduler::fromConfig);
        CLASSES.put(HeunDiscreteScheduler.CLASS_NAME, HeunDiscreteScheduler::fromConfig);
        CLASSES.put(KDpm2DiscreteScheduler.CLASS_NAME, KDpm2DiscreteScheduler::fromConfig);
        CLASSES.put(KDpm2AncestralDiscreteScheduler.CLASS_NAME, KDpm2AncestralDiscreteScheduler::fromConfig);
        CLASSES.put(UniPcMultistepScheduler.CLASS_NAME, UniPcMultistepScheduler::fromConfig);
        CLASSES.put(DeisMultistepScheduler.CLASS_NAME, DeisMultistepScheduler::fromConfig);
        CLASSES.put(DdpmScheduler.CLASS_NAME, DdpmScheduler::fromConfig);
    }

    private SchedulerFactory() {
    }

    /**
     * The sampler {@code name} (a {@link SchedulerRegistry} short name) from a model folder's
     * {@code scheduler/scheduler_config.json}: its class with its overrides.
     */
    public static Scheduler create(String name, JsonNode folderSchedulerConfig) {
        SchedulerRegistry.Entry e = SchedulerRegistry.byName(name).orElseThrow(() -> new IllegalArgumentException(
                "unknown scheduler '" + name + "'; known: " + String.join(", ", SchedulerRegistry.names())));
        return createFromClassName(e.className(), folderSchedulerConfig, e.overrides());
    }

    /** The scheduler the config's {@code _class_name} names, configured by it. */
    public static Scheduler createFromClassName(JsonNode config) {
        JsonNode name = config.get("_class_name");
        if (name == null || !name.isTextual()) {
            throw new IllegalArgumentException("scheduler config has no _class_name; known classes: "
                    + String.join(", ", CLASSES.keySet()));
        }
        return createFromClassName(name.asText(), config, Map.of());
    }

    /** {@code className.from_config(config, **overrides)}. */
    public static Scheduler createFromClassName(String className, JsonNode config, Map<String, ?> overrides) {
        BiFunction<JsonNode, Map<String, ?>, Scheduler> f = CLASSES.get(className);
        if (f == null) {
            throw new IllegalArgumentException("scheduler class '" + className + "' is not implemented; supported: "
                    + String.join(", ", CLASSES.keySet()));
        }
        return f.apply(config, overrides);
    }

    public static boolean isImplemented(String className) {
        return CLASSES.containsKey(className);
    }

    /** The registry's short name for a built scheduler (from its class and resolved config). */
    public static String nameOf(Scheduler scheduler) {
        SchedulerConfig c = scheduler.config();
        Map<String, Object> values = new LinkedHashMap<>();
        for (var it = c.values().fields(); it.hasNext(); ) {
            Entry<String, JsonNode> f = it.next();
            values.put(f.getKey(), JSON.convertValue(f.getValue(), Object.class));
        }
        return SchedulerRegistry.nameFor(c.className(), values).map(SchedulerRegistry.Entry::name)
                .orElse(c.className());
    }
}
