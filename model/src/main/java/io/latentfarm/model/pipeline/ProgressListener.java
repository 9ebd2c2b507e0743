package io.latentfarm.model.pipeline;

import ai.djl.ndarray.NDArray;

/** Called from the rendering thread after each denoising step. */
public interface ProgressListener {
    ProgressListener NONE = (step, total) -> { };

    void onStep(int step, int total);

    /** The text encoder is done with the prompts of the image(s) about to be denoised (or reused them). */
    default void onPromptsEncoded() {
    }

    /** The latents after step {@code step} (valid only during the call; copy what you keep). */
    default void onLatents(int step, NDArray latents) {
    }
}
