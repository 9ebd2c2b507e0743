package io.latentfarm.common.validation;

/**
 * What a deployment accepts. {@link #DEFAULTS}: sizes 64..1024 in multiples of 8, 1..150 steps,
 * guidance 0..30, at most 1,000,000 images a batch and 2000 characters a prompt.
 *
 * @param minSize        smallest width or height in pixels
 * @param maxImages      most images in one batch (count or rows x cols)
 * @param maxPromptChars longest prompt (and negative prompt), in characters
 */
public record Limits(int minSize, int maxWidth, int maxHeight, int maxSteps, double minGuidance,
                     double maxGuidance, int maxImages, int maxPromptChars) {

    public static final Limits DEFAULTS = new Limits(64, 1024, 1024, 150, 0, 30, 1_000_000, 2000);

    public Limits {
        if (minSize < 8 || maxWidth < minSize || maxHeight < minSize || maxSteps < 1
                || !(minGuidance <= maxGuidance) || maxImages < 1 || maxPromptChars < 1) {
            throw new IllegalArgumentException("inconsistent limits: " + this);
        }
    }

    public Limits withMaxSize(int width, int height) {
        return new Limits(minSize, width, height, maxSteps, minGuidance, maxGuidance, maxImages, maxPromptChars);
    }

    public Limits withMinSize(int size) {
        return new Limits(size, maxWidth, maxHeight, maxSteps, minGuidance, maxGuidance, maxImages, maxPromptChars);
    }

    public Limits withMaxSteps(int steps) {
        return new Limits(minSize, maxWidth, maxHeight, steps, minGuidance, maxGuidance, maxImages, maxPromptChars);
    }

    public Limits withGuidanceRange(double min, double max) {
        return new Limits(minSize, maxWidth, maxHeight, maxSteps, min, max, maxImages, maxPromptChars);
    }

    public Limits withMaxImages(int images) {
        return new Limits(minSize, maxWidth, maxHeight, maxSteps, minGuidance, maxGuidance, images, maxPromptChars);
    }

    public Limits withMaxPromptChars(int chars) {
        return new Limits(minSize, maxWidth, maxHeight, maxSteps, minGuidance, maxGuidance, maxImages, chars);
    }
}
