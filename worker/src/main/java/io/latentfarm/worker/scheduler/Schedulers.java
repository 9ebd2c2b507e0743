package io.latentfarm.worker.scheduler;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Builds a scheduler the way {@code XScheduler.from_config(pipe.scheduler.config)} does in
 * diffusers 0.31: the given config's keys that class accepts, that class's defaults for the rest
 * (so e.g. Euler gets timestep_spacing "linspace" from an SD v1 PNDM folder, DDIM keeps its
 * betas and steps_offset).
 */
public final class Schedulers {
    private Schedulers() {
    }

    private record Kind(String className, Map<String, Object> overrides) {
    }

    private static final Map<String, Kind> KINDS = new LinkedHashMap<>();
    private static final Map<String, BiFunction<JsonNode, Map<String, ?>, Scheduler>> CLASSES = new LinkedHashMap<>();

    static {
        KINDS.put("pndm", new Kind(PndmScheduler.CLASS_NAME, Map.of()));
        KINDS.put("ddim", new Kind(DdimScheduler.CLASS_NAME, Map.of()));
        KINDS.put("lms", new Kind(LmsDiscreteScheduler.CLASS_NAME, Map.of()));
        KINDS.put("euler", new Kind(EulerDiscreteScheduler.CLASS_NAME, Map.of()));
        KINDS.put("euler_a", new Kind(EulerAncestralDiscreteScheduler.CLASS_NAME, Map.of()));
        KINDS.put("dpmpp_2m", new Kind(DpmSolverMultistepScheduler.CLASS_NAME,
                Map.of("algorithm_type", "dpmsolver++", "solver_order", 2)));
        CLASSES.put(PndmScheduler.CLASS_NAME, PndmScheduler::fromConfig);
        CLASSES.put(DdimScheduler.CLASS_NAME, DdimScheduler::fromConfig);
        CLASSES.put(LmsDiscreteScheduler.CLASS_NAME, LmsDiscreteScheduler::fromConfig);
        CLASSES.put(EulerDiscreteScheduler.CLASS_NAME, EulerDiscreteScheduler::fromConfig);
        CLASSES.put(EulerAncestralDiscreteScheduler.CLASS_NAME, EulerAncestralDiscreteScheduler::fromConfig);
        CLASSES.put(DpmSolverMultistepScheduler.CLASS_NAME, DpmSolverMultistepScheduler::fromConfig);
    }

    /** The kinds {@link #create} knows: pndm, ddim, lms, euler, euler_a, dpmpp_2m. */
    public static java.util.Set<String> kinds() {
        return java.util.Collections.unmodifiableSet(KINDS.keySet());
    }

    /**
     * A scheduler of {@code kind} (pndm|ddim|lms|euler|euler_a|dpmpp_2m) from a model folder's
     * {@code scheduler/scheduler_config.json}; dpmpp_2m sets algorithm_type dpmsolver++ and solver_order 2.
     */
    public static Scheduler create(String kind, JsonNode folderSchedulerConfig) {
        Kind k = kind == null ? null : KINDS.get(kind);
        if (k == null) {
            throw new IllegalArgumentException("unknown scheduler '" + kind + "'; known: " + String.join(", ", KINDS.keySet()));
        }
        return CLASSES.get(k.className()).apply(folderSchedulerConfig, k.overrides());
    }

    /** The scheduler the config's {@code _class_name} names, configured by it. */
    public static Scheduler createFromClassName(JsonNode config) {
        JsonNode name = config.get("_class_name");
        if (name == null || !name.isTextual()) {
            throw new IllegalArgumentException("scheduler config has no _class_name; known classes: "
                    + String.join(", ", CLASSES.keySet()));
        }
        return createFromClassName(name.asText(), config);
    }

    /** {@code className.from_config(config)}. */
    public static Scheduler createFromClassName(String className, JsonNode config) {
        return createFromClassName(className, config, Map.of());
    }

    /** {@code className.from_config(config, **overrides)}. */
    public static Scheduler createFromClassName(String className, JsonNode config, Map<String, ?> overrides) {
        BiFunction<JsonNode, Map<String, ?>, Scheduler> f = CLASSES.get(className);
        if (f == null) {
            throw new IllegalArgumentException("unsupported scheduler class '" + className + "'; supported: "
                    + String.join(", ", CLASSES.keySet()));
        }
        return f.apply(config, overrides);
    }
}
