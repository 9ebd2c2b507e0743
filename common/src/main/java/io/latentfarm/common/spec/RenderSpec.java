package io.latentfarm.common.spec;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.latentfarm.common.message.SeedMode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What to render, from request to pixels: the one shape of the generation options that
 * {@code generate}, {@code local}, {@code submit}, a request's JSON and the jobs share. Absent values
 * take {@link RenderDefaults}; {@link #image(int)} resolves image i into an {@link ImageSpec}.
 *
 * <h2>How many images, and which prompt each uses</h2>
 * Diffusers' semantics: {@code pipe(prompts, num_images_per_prompt=n)} renders prompt 0's n
 * images, then prompt 1's n images, and so on. So:
 * <ul>
 *   <li>the total N is {@code count} if given, else {@code rows * cols} if given, else one image
 *       per prompt;</li>
 *   <li>when both {@code count} and {@code rows x cols} are given they must agree;</li>
 *   <li>N must be a whole multiple of the number of prompts: each prompt gets
 *       {@code n = N / prompts.size()} images ({@link #imagesPerPrompt()});</li>
 *   <li>image i uses {@code prompts[i / n]} ({@link #promptFor(int)});</li>
 *   <li>the grid is {@code rows x cols}, filled row by row in image order; without rows/cols it is
 *       the smallest near-square grid that holds N ({@link #gridRows()}, {@link #gridCols()}).</li>
 * </ul>
 *
 * <p>Nothing here is validated: that is {@code RequestValidator}'s job, so a bad spec can be
 * rejected with every field it gets wrong.
 *
 * @param seed     null: not chosen yet (the coordinator, or {@code generate}, picks one and records it)
 * @param seedMode "batch" or "per-image" (see {@link SeedMode}); kept as text so a wrong value is
 *                 a validation error that names the field, not an undecodable message
 */
@JsonPropertyOrder({"prompts", "negativePrompt", "rows", "cols", "count", "steps", "guidance", "seed", "width",
        "height", "scheduler", "seedMode"})
public record RenderSpec(List<String> prompts, String negativePrompt, Integer rows, Integer cols, Integer count,
                         int steps, double guidance, Long seed, int width, int height, String scheduler,
                         String seedMode) {

    public RenderSpec {
        // Null entries are kept (unmodifiably) so the validator can report them.
        prompts = prompts == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(prompts));
        negativePrompt = RenderDefaults.negativePrompt(negativePrompt);
        seedMode = RenderDefaults.seedMode(seedMode);
    }

    /** A spec with {@link RenderDefaults} for each null. */
    public static RenderSpec of(List<String> prompts, String negativePrompt, Integer rows, Integer cols, Integer count,
                                Integer steps, Double guidance, Long seed, Integer width, Integer height,
                                String scheduler, String seedMode) {
        return new RenderSpec(prompts, negativePrompt, rows, cols, count, RenderDefaults.steps(steps),
                RenderDefaults.guidance(guidance), seed, RenderDefaults.width(width), RenderDefaults.height(height),
                scheduler, seedMode);
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Total images N; see the class comment. 0 when there are no prompts and no count or grid. */
    public int imageCount() {
        if (count != null) {
            return count;
        }
        if (rows != null && cols != null) {
            return (int) Math.min(Integer.MAX_VALUE, (long) rows * cols);
        }
        return prompts.size();
    }

    /** Images per prompt, {@code N / prompts.size()} (meaningful for valid specs). */
    public int imagesPerPrompt() {
        return prompts.isEmpty() ? 0 : imageCount() / prompts.size();
    }

    /** The prompt of image {@code index} (0-based, diffusers' order). */
    public String promptFor(int index) {
        int n = imageCount();
        if (index < 0 || index >= n) {
            throw new IndexOutOfBoundsException("image " + index + " of " + n);
        }
        return prompts.get(index / imagesPerPrompt());
    }

    /** Whether rows x cols was asked for (a grid is composed only then, for prompt files). */
    public boolean hasGrid() {
        return rows != null && cols != null;
    }

    /** Grid rows: {@code rows} when given, else a near-square layout of N images. */
    public int gridRows() {
        if (hasGrid()) {
            return rows;
        }
        int c = gridCols();
        return c == 0 ? 0 : (imageCount() + c - 1) / c;
    }

    /** Grid columns: {@code cols} when given, else {@code ceil(sqrt(N))}. */
    public int gridCols() {
        if (hasGrid()) {
            return cols;
        }
        return (int) Math.ceil(Math.sqrt(imageCount()));
    }

    /** The seed mode; {@link IllegalStateException} if {@code seedMode} is not a known name. */
    @JsonIgnore
    public SeedMode seedModeValue() {
        return SeedMode.parse(seedMode).orElseThrow(
                () -> new IllegalStateException("unknown seedMode \"" + seedMode + "\""));
    }

    public RenderSpec withSeed(long newSeed) {
        return toBuilder().seed(newSeed).build();
    }

    /**
     * Image {@code index} of this spec, resolved: its prompt, and its noise as the seed mode draws it
     * (batch: slice {@code index} of one generator's draw for all N images; per-image: a batch of
     * one seeded with {@code seed + index}). Needs the seed.
     */
    public ImageSpec image(int index) {
        if (seed == null) {
            throw new IllegalStateException("the spec needs its seed before its images are resolved");
        }
        String prompt = promptFor(index);
        boolean batch = seedModeValue() == SeedMode.BATCH;
        return new ImageSpec(prompt, negativePrompt, steps, guidance, width, height, scheduler,
                batch ? seed : seed + index, batch ? imageCount() : 1, batch ? index : 0, null);
    }

    /** Every image, in index order (for {@code generate}; the cluster resolves them one job at a time). */
    public List<ImageSpec> images() {
        List<ImageSpec> out = new ArrayList<>(imageCount());
        for (int i = 0; i < imageCount(); i++) {
            out.add(image(i));
        }
        return out;
    }

    /** Builds specs in code (CLI, tests): every value not set is {@link RenderDefaults}'. */
    public static final class Builder {
        private List<String> prompts = List.of();
        private String negativePrompt;
        private Integer rows;
        private Integer cols;
        private Integer count;
        private Integer steps;
        private Double guidance;
        private Long seed;
        private Integer width;
        private Integer height;
        private String scheduler;
        private String seedMode;

        private Builder() {
        }

        private Builder(RenderSpec s) {
            prompts = s.prompts;
            negativePrompt = s.negativePrompt;
            rows = s.rows;
            cols = s.cols;
            count = s.count;
            steps = s.steps;
            guidance = s.guidance;
            seed = s.seed;
            width = s.width;
            height = s.height;
            scheduler = s.scheduler;
            seedMode = s.seedMode;
        }

        public Builder prompt(String v) { prompts = Collections.singletonList(v); return this; }
        public Builder prompts(List<String> v) { prompts = v; return this; }
        public Builder negativePrompt(String v) { negativePrompt = v; return this; }
        /** Sets rows x cols; N becomes rows * cols unless count is set. */
        public Builder grid(Integer r, Integer c) { rows = r; cols = c; return this; }
        public Builder count(Integer v) { count = v; return this; }
        public Builder steps(Integer v) { steps = v; return this; }
        public Builder guidance(Double v) { guidance = v; return this; }
        public Builder guidance(double v) { guidance = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder size(Integer w, Integer h) { width = w; height = h; return this; }
        public Builder scheduler(String v) { scheduler = v; return this; }
        public Builder seedMode(SeedMode v) { seedMode = v == null ? null : v.wireName(); return this; }
        public Builder seedMode(String v) { seedMode = v; return this; }

        public RenderSpec build() {
            return of(prompts, negativePrompt, rows, cols, count, steps, guidance, seed, width, height, scheduler,
                    seedMode);
        }
    }
}
