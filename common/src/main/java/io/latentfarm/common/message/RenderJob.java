package io.latentfarm.common.message;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import io.latentfarm.common.BatchIds;
import io.latentfarm.common.Excerpt;
import io.latentfarm.common.spec.ImageSpec;

import java.util.Objects;

/**
 * One image to render: what the coordinator puts on the jobs topic, keyed by {@link #jobId}.
 * Everything a worker needs to reproduce the image alone is its {@link ImageSpec} (prompt,
 * parameters and noise: generator seed, batch size of that draw, slice), whose fields sit at the top
 * level of the JSON.
 *
 * <p>On the wire {@code seed} is the generator's seed and {@code seedMode} is always written as
 * {@code "batch"}, so workers that predate image specs read the same noise. Older jobs with
 * {@code "seedMode":"per-image"} carried the batch seed S and meant {@code S + index}; they still
 * decode to that.
 *
 * @param jobId     {@code batchId + "/" + index} with the index in 4 digits ({@link #jobId(String, int)})
 * @param index     0-based image index in the batch (diffusers' order)
 * @param total     images in the batch
 * @param image     the image, fully resolved
 * @param model     the model asked for; null: whatever the worker serves
 * @param attempt   1 for the first try; the coordinator re-issues with a higher number
 * @param objectKey where the PNG goes in the bucket
 */
@JsonPropertyOrder({"schemaVersion", "jobId", "batchId", "index", "total", "model", "seedMode", "attempt",
        "objectKey"})
public record RenderJob(
        int schemaVersion,
        String jobId,
        String batchId,
        int index,
        int total,
        @JsonUnwrapped ImageSpec image,
        String model,
        int attempt,
        String objectKey) implements Message {

    // Checked on construction so a worker can trust any job it decodes.
    public RenderJob {
        schemaVersion = Message.normalizeVersion(schemaVersion);
        BatchIds.requireValid(batchId);
        if (index < 0 || index >= total) {
            throw new IllegalArgumentException("index " + index + " is outside 0.." + (total - 1));
        }
        String expectedId = jobId(batchId, index);
        if (jobId == null) {
            jobId = expectedId;
        } else if (!jobId.equals(expectedId)) {
            throw new IllegalArgumentException("jobId " + Excerpt.quote(jobId) + " should be \"" + expectedId + "\"");
        }
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(objectKey, "objectKey");
        if (image.steps() < 1 || image.width() < 8 || image.height() < 8) {
            throw new IllegalArgumentException("steps, width and height must be positive");
        }
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt " + attempt + " must be at least 1");
        }
    }

    @JsonCreator
    static RenderJob fromJson(
            @JsonProperty("schemaVersion") int schemaVersion,
            @JsonProperty("jobId") String jobId,
            @JsonProperty("batchId") String batchId,
            @JsonProperty("index") int index,
            @JsonProperty("total") int total,
            @JsonProperty("prompt") String prompt,
            @JsonProperty("negativePrompt") String negativePrompt,
            @JsonProperty("steps") int steps,
            @JsonProperty("guidance") double guidance,
            @JsonProperty("width") int width,
            @JsonProperty("height") int height,
            @JsonProperty("scheduler") String scheduler,
            @JsonProperty("model") String model,
            @JsonProperty("seed") long seed,
            @JsonProperty("seedMode") SeedMode seedMode,
            @JsonProperty("batchSize") int batchSize,
            @JsonProperty("sliceIndex") int sliceIndex,
            @JsonProperty("id") String id,
            @JsonProperty("attempt") int attempt,
            @JsonProperty("objectKey") String objectKey) {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(seedMode, "seedMode");
        long generatorSeed = seedMode == SeedMode.PER_IMAGE ? seed + index : seed;
        return new RenderJob(schemaVersion, jobId, batchId, index, total,
                new ImageSpec(prompt, negativePrompt, steps, guidance, width, height, scheduler, generatorSeed,
                        batchSize, sliceIndex, id),
                model, attempt, objectKey);
    }

    /**
     * The job for image {@code index} of an inline request whose {@code batchId} and {@code seed} the
     * coordinator has filled in, first attempt.
     */
    public static RenderJob forImage(RenderRequest request, int index, String objectKey) {
        if (request.batchId() == null || request.seed() == null) {
            throw new IllegalArgumentException("the request needs its batchId and seed before fan-out");
        }
        return forImage(request.batchId(), index, request.imageCount(), request.image(index), request.model(),
                objectKey);
    }

    /** The first attempt at image {@code index} of {@code total}, e.g. one line's image of a prompt file. */
    public static RenderJob forImage(String batchId, int index, int total, ImageSpec image, String model,
                                     String objectKey) {
        return new RenderJob(SCHEMA_VERSION, jobId(batchId, index), batchId, index, total, image, model, 1, objectKey);
    }

    /** {@code batchId/0007}: unique per image, and sorts in image order. */
    public static String jobId(String batchId, int index) {
        return batchId + "/" + String.format("%04d", index);
    }

    /** Always "batch" on the wire: {@code seed} is the generator's seed (see the class comment). */
    @JsonProperty("seedMode")
    String wireSeedMode() {
        return SeedMode.BATCH.wireName();
    }

    // Shortcuts to the image spec.
    public String prompt() { return image.prompt(); }
    public String negativePrompt() { return image.negativePrompt(); }
    public int steps() { return image.steps(); }
    public double guidance() { return image.guidance(); }
    public int width() { return image.width(); }
    public int height() { return image.height(); }
    public String scheduler() { return image.scheduler(); }
    public int batchSize() { return image.batchSize(); }
    public int sliceIndex() { return image.sliceIndex(); }

    /** The seed of the generator that draws this image's noise. */
    public long generatorSeed() {
        return image.seed();
    }

    /** The same job, tried again. */
    public RenderJob withAttempt(int newAttempt) {
        return new RenderJob(schemaVersion, jobId, batchId, index, total, image, model, newAttempt, objectKey);
    }

    /**
     * Whether two jobs can share one denoising call on a worker: same model, and compatible images
     * (size, steps, scheduler and guidance; prompts and noise may differ).
     */
    public boolean compatibleWith(RenderJob other) {
        return Objects.equals(model, other.model) && image.compatibleWith(other.image);
    }
}
