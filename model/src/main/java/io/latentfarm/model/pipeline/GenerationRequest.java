package io.latentfarm.model.pipeline;

import java.util.List;

/**
 * One text-to-image call with diffusers' {@code pipe(prompt, ...)} semantics: {@code prompts.size()
 * * imagesPerPrompt} images, prompt by prompt, all drawn from one generator seeded with
 * {@code seed}.
 *
 * @param guidance classifier-free guidance scale; <= 1 skips the unconditional pass
 * @param scheduler a sampler short name (common's SchedulerRegistry); null keeps the model folder's own
 */
public record GenerationRequest(List<String> prompts, String negativePrompt, int imagesPerPrompt,
                                int steps, double guidance, long seed, int width, int height,
                                String scheduler) {

    public GenerationRequest {
        prompts = List.copyOf(prompts);
        negativePrompt = negativePrompt == null ? "" : negativePrompt;
    }

    public int batchSize() {
        return prompts.size() * imagesPerPrompt;
    }

    public String promptOf(int imageIndex) {
        return prompts.get(imageIndex / imagesPerPrompt);
    }

    public boolean classifierFreeGuidance() {
        return guidance > 1.0;
    }

    /** Throws IllegalArgumentException naming the field and the limit. */
    public void validate() {
        if (prompts.isEmpty()) throw new IllegalArgumentException("prompt: at least one prompt is required");
        for (String p : prompts) {
            if (p == null) throw new IllegalArgumentException("prompt: must not be null");
        }
        if (imagesPerPrompt < 1) throw new IllegalArgumentException("images-per-prompt: " + imagesPerPrompt + " is below 1");
        if (steps < 1) throw new IllegalArgumentException("steps: " + steps + " is below 1");
        if (width < 8 || width % 8 != 0) throw new IllegalArgumentException("width: " + width + " is not a positive multiple of 8");
        if (height < 8 || height % 8 != 0) throw new IllegalArgumentException("height: " + height + " is not a positive multiple of 8");
        if (!Double.isFinite(guidance) || guidance < 0) throw new IllegalArgumentException("guidance: " + guidance + " is not a number >= 0");
    }
}
