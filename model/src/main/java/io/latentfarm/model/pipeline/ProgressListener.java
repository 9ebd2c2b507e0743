package io.latentfarm.model.pipeline;

import ai.djl.ndarray.NDArray;

/** Called from the rendering thread: once the prompts are encoded, then after each denoising step. */
public interface ProgressListener {
    ProgressListener NONE = (step, total) -> { };

    void onStep(int step, int total);

    /** The latents after step {@code step} (valid only during the call; copy what you keep). */
    default void onLatents(int step, NDArray latents) {
    }

    /** Called once per render call, before the first step, with the time the text encoder took. */
    default void onPromptsEncoded(long nanos) {
    }
}
