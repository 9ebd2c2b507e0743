package io.latentfarm.common.validation;

/**
 * What a deployment accepts. {@link #DEFAULTS}: sizes 64..1024 in multiples of 8, 1..150 steps,
 * guidance 0..30, at most 1,000,000 images a batch, 2000 characters a prompt and prompt files of at
 * most 256 MiB. (Whether a large grid is composed is the coordinator's max-grid-images, not a limit
 * on what a request may ask.)
 *
 * @param minSize            smallest width or height in pixels
 * @param maxImages          most images in one batch (count, rows x cols, or a prompt file's lines)
 * @param maxPromptChars     longest prompt (and negative prompt), in characters
 * @param maxPromptFileBytes largest prompt file ({@code promptsUri}), in bytes
 */
public record Limits(int minSize, int maxWidth, int maxHeight, int maxSteps, double minGuidance,
                     double maxGuidance, int maxImages, int maxPromptChars,
                     long maxPromptFileBytes) {

    public static final Limits DEFAULTS = new Limits(64, 1024, 1024, 150, 0, 30, 1_000_000, 2000,
            256L * 1024 * 1024);

    public Limits {
        if (minSize < 8 || maxWidth < minSize || maxHeight < minSize || maxSteps < 1
                || !(minGuidance <= maxGuidance) || maxImages < 1 || maxPromptChars < 1
                || maxPromptFileBytes < 1) {
            throw new IllegalArgumentException("inconsistent limits: " + this);
        }
    }

    public Limits withMaxSize(int width, int height) {
        return new Limits(minSize, width, height, maxSteps, minGuidance, maxGuidance, maxImages, maxPromptChars,
                maxPromptFileBytes);
    }

    public Limits withMinSize(int size) {
        return new Limits(size, maxWidth, maxHeight, maxSteps, minGuidance, maxGuidance, maxImages, maxPromptChars,
                maxPromptFileBytes);
    }

    public Limits withMaxSteps(int steps) {
        return new Limits(minSize, maxWidth, maxHeight, steps, minGuidance, maxGuidance, maxImages, maxPromptChars,
                maxPromptFileBytes);
    }

    public Limits withGuidanceRange(double min, double max) {
        return new Limits(minSize, maxWidth, maxHeight, maxSteps, min, max, maxImages, maxPromptChars,
                maxPromptFileBytes);
    }

    public Limits withMaxImages(int images) {
        return new Limits(minSize, maxWidth, maxHeight, maxSteps, minGuidance, maxGuidance, images, maxPromptChars,
                maxPromptFileBytes);
    }

    public Limits withMaxPromptChars(int chars) {
        return new Limits(minSize, maxWidth, maxHeight, maxSteps, minGuidance, maxGuidance, maxImages, chars,
                maxPromptFileBytes);
    }

    public Limits withMaxPromptFileBytes(long bytes) {
        return new Limits(minSize, maxWidth, maxHeight, maxSteps, minGuidance, maxGuidance, maxImages, maxPromptChars,
                bytes);
    }
}
