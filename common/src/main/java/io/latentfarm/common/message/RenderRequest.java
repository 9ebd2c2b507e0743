package io.latentfarm.common.message;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.common.spec.RenderSpec;

import java.util.List;
import java.util.Objects;

/**
 * A render batch request, as a user sends it to the requests topic: a {@link RenderSpec} (what to
 * render; its fields sit at the top level of the JSON, as they always have) plus who asks for it.
 * {@link #imageCount()}, {@link #promptFor}, {@link #gridRows()} and the field shortcuts below read
 * the spec.
 *
 * <p>Defaults are {@code RenderDefaults}'; a null {@code batchId} or {@code seed} means the
 * coordinator picks one and records it ({@link #withBatchId}, {@link #withSeed}). In JSON,
 * {@code "prompt": "..."} is accepted as well as {@code "prompts": [...]} (either takes a string or
 * a list, not both). Nothing here is validated: that is {@code RequestValidator}'s job.
 *
 * @param promptsUri an {@code s3://bucket/key} prompt file (JSON Lines, text or CSV) instead of inline
 *                   prompts ({@code io.latentfarm.common.spec.PromptFile}); null: the prompts are inline
 * @param priority   higher runs first; 0 by default
 */
@JsonPropertyOrder({"schemaVersion", "batchId", "prompts", "promptsUri", "negativePrompt", "rows", "cols", "count",
        "steps", "guidance", "seed", "width", "height", "scheduler", "model", "seedMode", "priority"})
public record RenderRequest(
        int schemaVersion,
        String batchId,
        @JsonUnwrapped RenderSpec spec,
        String model,
        String promptsUri,
        int priority) implements Message {

    /**
     * The {@code type} a render request may carry on the requests topic; without one a message is a
     * render request too ({@link CancelRequest} has {@code "cancel"}). Not part of this record.
     */
    public static final String TYPE = "render";

    public RenderRequest {
        schemaVersion = Message.normalizeVersion(schemaVersion);
        Objects.requireNonNull(spec, "spec");
    }

    @JsonCreator
    static RenderRequest fromJson(
            @JsonProperty("schemaVersion") Integer schemaVersion,
            @JsonProperty("batchId") String batchId,
            @JsonProperty("prompts") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> prompts,
            @JsonProperty("prompt") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> prompt,
            @JsonProperty("promptsUri") String promptsUri,
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
            @JsonProperty("seedMode") String seedMode,
            @JsonProperty("priority") Integer priority) {
        if (prompts != null && prompt != null) {
            throw new IllegalArgumentException("give \"prompt\" or \"prompts\", not both");
        }
        RenderSpec spec = RenderSpec.of(prompts != null ? prompts : prompt, negativePrompt, rows, cols, count, steps,
                guidance, seed, width, height, scheduler, seedMode);
        return new RenderRequest(schemaVersion == null ? 0 : schemaVersion, batchId, spec, model, promptsUri,
                priority == null ? 0 : priority);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this request's values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Whether the prompts come from a prompt file ({@link #promptsUri}) rather than inline. */
    public boolean hasPromptFile() {
        return promptsUri != null;
    }

    // Shortcuts to the spec, for code that reads a request's options.
    public List<String> prompts() { return spec.prompts(); }
    public String negativePrompt() { return spec.negativePrompt(); }
    public Integer rows() { return spec.rows(); }
    public Integer cols() { return spec.cols(); }
    public Integer count() { return spec.count(); }
    public int steps() { return spec.steps(); }
    public double guidance() { return spec.guidance(); }
    public Long seed() { return spec.seed(); }
    public int width() { return spec.width(); }
    public int height() { return spec.height(); }
    public String scheduler() { return spec.scheduler(); }
    public String seedMode() { return spec.seedMode(); }
    public int imageCount() { return spec.imageCount(); }
    public int imagesPerPrompt() { return spec.imagesPerPrompt(); }
    public String promptFor(int index) { return spec.promptFor(index); }
    public int gridRows() { return spec.gridRows(); }
    public int gridCols() { return spec.gridCols(); }
    public SeedMode seedModeValue() { return spec.seedModeValue(); }

    /** Image {@code index} of an inline request, resolved ({@link RenderSpec#image}); needs the seed. */
    public ImageSpec image(int index) {
        return spec.image(index);
    }

    public RenderRequest withBatchId(String newBatchId) {
        return new RenderRequest(schemaVersion, newBatchId, spec, model, promptsUri, priority);
    }

    public RenderRequest withSeed(long newSeed) {
        return new RenderRequest(schemaVersion, batchId, spec.withSeed(newSeed), model, promptsUri, priority);
    }

    /** Builds requests in code (CLI, tests) with the same defaults as JSON. */
    public static final class Builder {
        private String batchId;
        private RenderSpec.Builder spec;
        private String model;
        private String promptsUri;
        private int priority;

        private Builder() {
            spec = RenderSpec.builder();
        }

        private Builder(RenderRequest r) {
            batchId = r.batchId;
            spec = r.spec.toBuilder();
            model = r.model;
            promptsUri = r.promptsUri;
            priority = r.priority;
        }

        public Builder batchId(String v) { batchId = v; return this; }
        /** All of the spec's values at once. */
        public Builder spec(RenderSpec v) { spec = v.toBuilder(); return this; }
        public Builder prompt(String v) { spec.prompt(v); return this; }
        public Builder prompts(List<String> v) { spec.prompts(v); return this; }
        public Builder promptsUri(String v) { promptsUri = v; return this; }
        public Builder negativePrompt(String v) { spec.negativePrompt(v); return this; }
        /** Sets rows x cols and clears nothing else; N becomes rows * cols unless count is set. */
        public Builder grid(Integer r, Integer c) { spec.grid(r, c); return this; }
        public Builder count(Integer v) { spec.count(v); return this; }
        public Builder steps(int v) { spec.steps(v); return this; }
        public Builder guidance(double v) { spec.guidance(v); return this; }
        public Builder seed(Long v) { spec.seed(v); return this; }
        public Builder size(int w, int h) { spec.size(w, h); return this; }
        public Builder scheduler(String v) { spec.scheduler(v); return this; }
        public Builder model(String v) { model = v; return this; }
        public Builder seedMode(SeedMode v) { spec.seedMode(v); return this; }
        public Builder seedMode(String v) { spec.seedMode(v); return this; }
        public Builder priority(int v) { priority = v; return this; }

        public RenderRequest build() {
            return new RenderRequest(SCHEMA_VERSION, batchId, spec.build(), model, promptsUri, priority);
        }
    }
}
