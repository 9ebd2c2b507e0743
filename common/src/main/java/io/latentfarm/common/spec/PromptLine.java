package io.latentfarm.common.spec;

import io.latentfarm.common.message.SeedMode;

/**
 * One line of a prompt file: a prompt and the request values it overrides (null: the request's).
 *
 * <p>Its images: a line with its own {@code seed} is a little batch of its own, so its image j is
 * image j of {@code generate --seed S --images-per-prompt count} with the line's parameters
 * (generator seed S, batch size {@code count}, slice j). A line without one takes its images' noise
 * from the request's seed as an inline batch does: in seed mode batch, slice {@code index} of one
 * draw for all N images of the file; per-image, {@code seed + index}, a batch of one.
 *
 * @param lineNumber 1-based line of the file where the line starts (for CSV, counting the header)
 * @param count      images of this prompt, 1 when null
 * @param id         the user's label: the image's own for a one-image line, {@code id-j} for image j
 *                   of a longer one
 */
public record PromptLine(long lineNumber, String prompt, String negativePrompt, Long seed, Integer steps,
                         Double guidance, Integer width, Integer height, String scheduler, Integer count,
                         String id) {

    /** The field names a line may carry: JSON Lines keys and CSV header columns alike. */
    public static final java.util.List<String> FIELDS = java.util.List.of("prompt", "negativePrompt", "seed",
            "steps", "guidance", "width", "height", "scheduler", "count", "id");

    public int imageCount() {
        return count != null ? count : 1;
    }

    /**
     * The line as a spec of its own: the request's values overridden by the line's, its one prompt,
     * {@code count} images, and its own seed if it has one (else the request's).
     */
    public RenderSpec applyTo(RenderSpec base) {
        RenderSpec.Builder b = base.toBuilder().prompt(prompt).grid(null, null).count(imageCount());
        if (negativePrompt != null) b.negativePrompt(negativePrompt);
        if (seed != null) b.seed(seed).seedMode(SeedMode.BATCH);
        if (steps != null) b.steps(steps);
        if (guidance != null) b.guidance(guidance);
        if (width != null) b.size(width, base.height());
        if (height != null) b.size(width != null ? width : base.width(), height);
        if (scheduler != null) b.scheduler(scheduler);
        return b.build();
    }

    /**
     * Image {@code j} of this line, which is image {@code index} of a file of {@code total} images
     * under the request's spec {@code base} (with its seed).
     */
    public ImageSpec image(int j, RenderSpec base, long index, long total) {
        if (j < 0 || j >= imageCount()) {
            throw new IndexOutOfBoundsException("image " + j + " of line " + lineNumber + "'s " + imageCount());
        }
        RenderSpec own = applyTo(base);
        ImageSpec image;
        if (seed != null) {
            image = own.image(j);
        } else {
            if (base.seed() == null) {
                throw new IllegalStateException("the request needs its seed before its images are resolved");
            }
            boolean batch = base.seedModeValue() == SeedMode.BATCH;
            ImageSpec shape = own.image(j);
            image = new ImageSpec(shape.prompt(), shape.negativePrompt(), shape.steps(), shape.guidance(),
                    shape.width(), shape.height(), shape.scheduler(), batch ? base.seed() : base.seed() + index,
                    batch ? Math.toIntExact(total) : 1, batch ? Math.toIntExact(index) : 0, null);
        }
        return id == null ? image : image.withId(imageCount() == 1 ? id : id + "-" + j);
    }
}
