package io.latentfarm.common.message;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A render batch request, as a user sends it to the requests topic.
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
 *   <li>image i uses {@code prompts[i / n]} ({@link #promptFor(int)}), so with one prompt every
 *       image uses it;</li>
 *   <li>the grid is {@code rows x cols}, filled row by row in image order; without rows/cols it is
 *       the smallest near-square grid that holds N ({@link #gridRows()}, {@link #gridCols()}), with
 *       empty cells left black.</li>
 * </ul>
 *
 * <h2>Defaults</h2>
 * Applied when a field is absent (or null) in JSON and by {@link #builder()}: negativePrompt "",
 * steps 50, guidance 7.5, width and height 512, seedMode "batch"; no scheduler (null) means the
 * model's own ({@code scheduler/scheduler_config.json}), which the worker that renders the image picks. A null
 * {@code batchId} or {@code seed} means the coordinator picks one and records it
 * ({@link #withBatchId}, {@link #withSeed}). In JSON, {@code "prompt": "..."} is accepted as well
 * as {@code "prompts": [...]} (either takes a string or a list, not both).
 *
 * <p>Nothing here is validated: that is {@code RequestValidator}'s job, so a bad request can be
 * rejected with every field it gets wrong.
 *
 * @param seedMode "batch" or "per-image" (see {@link SeedMode}); kept as text so a wrong value is
 *                 a validation error that names the field, not an undecodable message
 */
@JsonPropertyOrder({"schemaVersion", "batchId", "prompts", "negativePrompt", "rows", "cols", "count",
        "steps", "guidance", "seed", "width", "height", "scheduler", "model", "seedMode"})
public record RenderRequest(
        int schemaVersion,
        String batchId,
        List<String> prompts,
        String negativePrompt,
        Integer rows,
        Integer cols,
        Integer count,
        int steps,
        double guidance,
        Long seed,
        int width,
        int height,
        String scheduler,
        String model,
        String seedMode) implements Message {

    /**
     * The {@code type} a render request may carry on the requests topic; without one a message is a
     * render request too ({@link CancelRequest} has {@code "cancel"}). Not part of this record.
     */
    public static final String TYPE = "render";
    public static final int DEFAULT_STEPS = 50;
    public static final double DEFAULT_GUIDANCE = 7.5;
    public static final int DEFAULT_SIZE = 512;

    public RenderRequest {
        schemaVersion = Message.normalizeVersion(schemaVersion);
        // Null entries are kept (unmodifiably) so the validator can report them.
        prompts = prompts == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(prompts));
        negativePrompt = negativePrompt == null ? "" : negativePrompt;
        seedMode = seedMode == null ? SeedMode.DEFAULT.wireName() : seedMode;
    }

    @JsonCreator
    static RenderRequest fromJson(
            @JsonProperty("schemaVersion") Integer schemaVersion,
            @JsonProperty("batchId") String batchId,
            @JsonProperty("prompts") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> prompts,
            @JsonProperty("prompt") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> prompt,
            @JsonProperty("negativePrompt") String negativePrompt,
            @JsonProperty("rows") Integer rows,
            @JsonProperty("cols") Integer cols,
            @JsonProperty("count") Integer count,
            @JsonProperty("steps") Integer steps,
            @JsonProperty("guidance") Double guidance,
            @JsonProperty("seed") Long seed,
            @JsonProperty("width") Integer width,
            @JsonProperty("height") Integer height,
            @JsonProperty("scheduler") String scheduler,
            @JsonProperty("model") String model,
            @JsonProperty("seedMode") String seedMode) {
        if (prompts != null && prompt != null) {
            throw new IllegalArgumentException("give \"prompt\" or \"prompts\", not both");
        }
        return new RenderRequest(
                schemaVersion == null ? 0 : schemaVersion,
                batchId,
                prompts != null ? prompts : prompt,
                negativePrompt,
                rows, cols, count,
                steps == null ? DEFAULT_STEPS : steps,
                guidance == null ? DEFAULT_GUIDANCE : guidance,
                seed,
                width == null ? DEFAULT_SIZE : width,
                height == null ? DEFAULT_SIZE : height,
                scheduler, model, seedMode);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this request's values. */
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

    /** Images per prompt, {@code N / prompts.size()} (meaningful for valid requests). */
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

    /** Grid rows: {@code rows} when given, else a near-square layout of N images. */
    public int gridRows() {
        if (rows != null && cols != null) {
            return rows;
        }
        int cols = gridCols();
        return cols == 0 ? 0 : (imageCount() + cols - 1) / cols;
    }

    /** Grid columns: {@code cols} when given, else {@code ceil(sqrt(N))}. */
    public int gridCols() {
        if (rows != null && cols != null) {
            return cols;
        }
        return (int) Math.ceil(Math.sqrt(imageCount()));
    }

    /** The seed mode; {@link IllegalStateException} if {@code seedMode} is not a known name. */
    public SeedMode seedModeValue() {
        return SeedMode.parse(seedMode).orElseThrow(
                () -> new IllegalStateException("unknown seedMode \"" + seedMode + "\""));
    }

    public RenderRequest withBatchId(String newBatchId) {
        return toBuilder().batchId(newBatchId).build();
    }

    public RenderRequest withSeed(long newSeed) {
        return toBuilder().seed(newSeed).build();
    }

    /** Builds requests in code (CLI, tests) with the same defaults as JSON. */
    public static final class Builder {
        private String batchId;
        private List<String> prompts = List.of();
        private String negativePrompt = "";
        private Integer rows;
        private Integer cols;
        private Integer count;
        private int steps = DEFAULT_STEPS;
        private double guidance = DEFAULT_GUIDANCE;
        private Long seed;
        private int width = DEFAULT_SIZE;
        private int height = DEFAULT_SIZE;
        private String scheduler;
        private String model;
        private String seedMode = SeedMode.DEFAULT.wireName();

        private Builder() {
        }

        private Builder(RenderRequest r) {
            batchId = r.batchId;
            prompts = r.prompts;
            negativePrompt = r.negativePrompt;
            rows = r.rows;
            cols = r.cols;
            count = r.count;
            steps = r.steps;
            guidance = r.guidance;
            seed = r.seed;
            width = r.width;
            height = r.height;
            scheduler = r.scheduler;
            model = r.model;
            seedMode = r.seedMode;
        }

        public Builder batchId(String v) { batchId = v; return this; }
        public Builder prompt(String v) { prompts = Collections.singletonList(v); return this; }
        public Builder prompts(List<String> v) { prompts = v; return this; }
        public Builder negativePrompt(String v) { negativePrompt = v; return this; }
        /** Sets rows x cols and clears nothing else; N becomes rows * cols unless count is set. */
        public Builder grid(Integer r, Integer c) { rows = r; cols = c; return this; }
        public Builder count(Integer v) { count = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder guidance(double v) { guidance = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder size(int w, int h) { width = w; height = h; return this; }
        public Builder scheduler(String v) { scheduler = v; return this; }
        public Builder model(String v) { model = v; return this; }
        public Builder seedMode(SeedMode v) { seedMode = v.wireName(); return this; }
        public Builder seedMode(String v) { seedMode = v; return this; }

        public RenderRequest build() {
            return new RenderRequest(SCHEMA_VERSION, batchId, prompts, negativePrompt, rows, cols, count,
                    steps, guidance, seed, width, height, scheduler, model, seedMode);
        }
    }
}
