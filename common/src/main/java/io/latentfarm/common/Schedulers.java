package io.latentfarm.common;

import java.util.List;
import java.util.Map;

/** The scheduler names a request may use, and the labels other Stable Diffusion tools show for them. */
public final class Schedulers {
    public static final String DEFAULT = "pndm";

    /** Known names, in the order error messages list them. */
    public static final List<String> NAMES = List.of("pndm", "ddim", "lms", "euler", "euler_a", "dpmpp_2m");

    // The "Sampler:" values AUTOMATIC1111's web UI writes in its PNG parameters.
    private static final Map<String, String> LABELS = Map.of(
            "pndm", "PNDM",
            "ddim", "DDIM",
            "lms", "LMS",
            "euler", "Euler",
            "euler_a", "Euler a",
            "dpmpp_2m", "DPM++ 2M");

    private Schedulers() {
    }

    public static boolean isKnown(String name) {
        return name != null && LABELS.containsKey(name);
    }

    /** The sampler label for PNG parameters; unknown names are returned unchanged. */
    public static String samplerLabel(String name) {
        return LABELS.getOrDefault(name, name);
    }
}
