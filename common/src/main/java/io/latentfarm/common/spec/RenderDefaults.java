package io.latentfarm.common.spec;

import io.latentfarm.common.message.SeedMode;

/**
 * The one table of generation defaults, for everything that renders: {@code generate}, {@code local},
 * {@code submit} (their help texts quote these), request JSON, prompt-file lines, jobs and PNG
 * parameters. A field left out anywhere gets its value here.
 */
public final class RenderDefaults {
    public static final int STEPS = 50;
    public static final double GUIDANCE = 7.5;
    public static final int WIDTH = 512;
    public static final int HEIGHT = 512;
    public static final String NEGATIVE_PROMPT = "";
    /** {@link SeedMode#BATCH}'s name: diffusers' one generator for the batch. */
    public static final String SEED_MODE = "batch";
    /**
     * No scheduler name means the model's own ({@code scheduler/scheduler_config.json}), as diffusers
     * does, in {@code generate} and in the cluster alike: the worker that renders the image picks it.
     */
    public static final String SCHEDULER = null;

    private RenderDefaults() {
    }

    public static int steps(Integer steps) {
        return steps != null ? steps : STEPS;
    }

    public static double guidance(Double guidance) {
        return guidance != null ? guidance : GUIDANCE;
    }

    public static int width(Integer width) {
        return width != null ? width : WIDTH;
    }

    public static int height(Integer height) {
        return height != null ? height : HEIGHT;
    }

    public static String negativePrompt(String negativePrompt) {
        return negativePrompt != null ? negativePrompt : NEGATIVE_PROMPT;
    }

    public static String seedMode(String seedMode) {
        return seedMode != null ? seedMode : SEED_MODE;
    }
}
