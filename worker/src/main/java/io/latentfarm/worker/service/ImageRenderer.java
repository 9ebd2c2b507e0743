package io.latentfarm.worker.service;

import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.model.pipeline.ProgressListener;
import io.latentfarm.model.pipeline.RenderedImage;

import java.time.Duration;
import java.util.List;

/**
 * What the job consumer needs of a loaded model: render image specs, each equal to that image of
 * the full diffusers call it comes from (its prompt, parameters and slice of its generator's draw). {@link PipelineRenderer} adapts
 * the Stable Diffusion pipeline; tests may plug in others. Implementations may be called from one
 * thread at a time.
 */
public interface ImageRenderer extends AutoCloseable {

    /**
     * @param listener called after each denoising step; it may throw to abandon the render (the
     *                 exception propagates out of this call)
     * @return one image per spec, in order ({@link RenderedImage#index()}: the position in {@code images})
     */
    List<RenderedImage> render(List<ImageSpec> images, ProgressListener listener);

    /**
     * What the user should know about how this renderer reads the job, one line each naming the
     * field, like the request validator's messages (e.g. {@code prompt: 85 CLIP tokens, truncated to 77}).
     * Never fails the job: an implementation that cannot tell returns none.
     */
    default List<String> warnings(RenderJob job) {
        return List.of();
    }

    /**
     * The short name of the scheduler a job with {@code requested} runs (null: the model's own),
     * as PNG parameters and results report it.
     */
    default String schedulerName(String requested) {
        return requested;
    }

    /** The model's label, written into results, PNG parameters and manifests (e.g. its folder name). */
    String modelId();

    /** Where it computes: cpu, cuda:0. */
    String device();

    /** The precision it computes in: fp32, fp16, bf16. */
    default String dtype() {
        return "fp32";
    }

    /** Whether the model is ready to render (a renderer that loads in the background is not, at first). */
    default boolean isLoaded() {
        return true;
    }

    /**
     * Waits up to {@code timeout} for the model to be ready.
     *
     * @return true once it is, false if it is still loading
     * @throws IllegalStateException if loading failed: it never will be
     */
    default boolean awaitLoaded(Duration timeout) {
        return true;
    }

    @Override
    default void close() {
    }
}
