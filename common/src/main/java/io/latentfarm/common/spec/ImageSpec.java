package io.latentfarm.common.spec;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.Objects;

/**
 * One image, fully resolved: what the pipeline renders and what a job carries. Its initial noise:
 * seed a CPU generator with {@link #seed}, draw {@code randn(batchSize, 4, height/8, width/8)} in
 * fp32 and take slice {@link #sliceIndex} (also for the step noise of ancestral samplers). So image j
 * of {@code pipe(prompts, num_images_per_prompt=n, generator=manual_seed(S))} is
 * {@code seed = S, batchSize = prompts * n, sliceIndex = j}, and a per-image seed is a batch of one.
 *
 * @param scheduler a sampler short name (common's SchedulerRegistry); null: the model's own
 * @param seed      the seed of the generator that draws this image's noise
 * @param batchSize how many images that generator draws noise for
 * @param sliceIndex which of those draws is this image's
 * @param id        a user's own label for the image (prompt files' {@code id}), or null
 */
@JsonPropertyOrder({"prompt", "negativePrompt", "steps", "guidance", "width", "height", "scheduler", "seed",
        "batchSize", "sliceIndex", "id"})
public record ImageSpec(String prompt, String negativePrompt, int steps, double guidance, int width, int height,
                        String scheduler, long seed, int batchSize, int sliceIndex, String id) {

    public ImageSpec {
        Objects.requireNonNull(prompt, "prompt");
        negativePrompt = RenderDefaults.negativePrompt(negativePrompt);
        if (batchSize < 1 || sliceIndex < 0 || sliceIndex >= batchSize) {
            throw new IllegalArgumentException("sliceIndex " + sliceIndex + " is outside 0.." + (batchSize - 1));
        }
    }

    /** Classifier-free guidance runs (and the negative prompt is encoded) only above 1, as in diffusers. */
    @JsonIgnore
    public boolean classifierFreeGuidance() {
        return guidance > 1.0;
    }

    /**
     * Whether two images can share one denoising call: the same steps, guidance, size and scheduler
     * (prompts and noise may differ).
     */
    public boolean compatibleWith(ImageSpec other) {
        return steps == other.steps && Double.compare(guidance, other.guidance) == 0 && width == other.width
                && height == other.height && Objects.equals(scheduler, other.scheduler);
    }

    /** This image with another label. */
    public ImageSpec withId(String newId) {
        return new ImageSpec(prompt, negativePrompt, steps, guidance, width, height, scheduler, seed, batchSize,
                sliceIndex, newId);
    }
}
