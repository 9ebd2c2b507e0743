package io.latentfarm.common.validation;

/**
 * What a deployment accepts. {@link #DEFAULTS}: sizes 64..1024 in multiples of 8, 1..150 steps,
 * guidance 0..30, at most 1,000,000 images a batch, a grid of at most 64 images, 2000 characters a
 * prompt and prompt files of at most 256 MiB.
 *
 * @param minSize            smallest width or height in pixels
 * @param maxImages          most images in one batch (count, rows x cols, or a prompt file's lines)
 * @param maxPromptChars     longest prompt (and negative prompt), in characters
 * @param maxGridImages      most images in a grid ({@code rows x cols}); a batch larger than this gets
 *                           its manifest without a grid
 * @param maxPromptFileBytes largest prompt file ({@code promptsUri}), in bytes
 */
public record Limits(int minSize, int maxWidth, int maxHeight, int maxSteps, double minGuidance,
                     double maxGuidance, int maxImages, int maxPromptChars, int maxGridImages,
                     long maxPromptFileBytes) {

    public static final Limits DEFAULTS = new Limits(64, 1024, 1024, 150, 0, 30, 1_000_000, 2000, 64,
            256L * 1024 * 1024);

    public Limits {
        if (minSize < 8 || maxWidth < minSize || maxHeight < minSize || maxSteps < 1
                || !(minGuidance <= maxGuidance) || maxImages < 1 || maxPromptChars < 1 || maxGridImages < 1
                || maxPromptFileBytes < 1) {
            throw new IllegalArgumentException("inconsistent limits: " + this);
        }
    }

    public Limits withMaxSize(int width, int height) {
        return new Limits(minSize, width, height, maxSteps, minGuidance, maxGuidance, maxImages, maxPromptChars,
                maxGridImages, maxPromptFileBytes);
    }

    public Limits withMinSize(int size) {
        return new Limits(size, maxWidth, maxHeight, maxSteps, minGuidance, maxGuidance, maxImages, maxPromptChars,
                maxGridImages, maxPromptFileBytes);
    }

    public Limits withMaxSteps(int steps) {
        return new Limits(minSize, maxWidth, maxHeight, steps, minGuidance, maxGuidance, maxImages, maxPromptChars,
                maxGridImages, maxPromptFileBytes);
    }

    public Limits withGuidanceRange(double min, double max) {
        return new Limits(minSize, maxWidth, maxHeight, maxSteps, min, max, maxImages, maxPromptChars,
                maxGridImages, maxPromptFileBytes);
    }

    public Limits withMaxImages(int images) {
        return new Limits(minSize, maxWidth, maxHeight, maxSteps, minGuidance, maxGuidance, images, maxPromptChars,
                maxGridImages, maxPromptFileBytes);
    }

    public Limits withMaxPromptChars(int chars) {
        return new Limits(minSize, maxWidth, maxHeight, maxSteps, minGuidance, maxGuidance, maxImages, chars,
                maxGridImages, maxPromptFileBytes);
    }

    public Limits withMaxGridImages(int images) {
        return new Limits(minSize, maxWidth, maxHeight, maxSteps, minGuidance, maxGuidance, maxImages, maxPromptChars,
                images, maxPromptFileBytes);
    }

    public Limits withMaxPromptFileBytes(long bytes) {
        return new Limits(minSize, maxWidth, maxHeight, maxSteps, minGuidance, maxGuidance, maxImages, maxPromptChars,
                maxGridImages, bytes);
    }
}
