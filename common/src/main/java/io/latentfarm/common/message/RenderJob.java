package io.latentfarm.common.message;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.latentfarm.common.BatchIds;
import io.latentfarm.common.Excerpt;

import java.util.Objects;

/**
 * One image to render: what the coordinator puts on the jobs topic, keyed by {@link #jobId}.
 *
 * <p>Everything a worker needs to reproduce the image alone. The initial noise: seed a CPU
 * generator with {@link #generatorSeed()}, draw {@code randn(batchSize, 4, height/8, width/8)} in
 * fp32 and take slice {@link #sliceIndex}. In {@link SeedMode#BATCH} that is slice {@code index} of
 * the whole batch's draw (diffusers with one generator); in {@link SeedMode#PER_IMAGE} it is a
 * batch of one seeded with {@code seed + index}.
 *
 * @param jobId     {@code batchId + "/" + index} with the index in 4 digits ({@link #jobId(String, int)})
 * @param index     0-based image index in the batch (diffusers' order)
 * @param total     images in the batch
 * @param seed      the batch seed S, as recorded in the request
 * @param batchSize how many images the one generator draws noise for
 * @param sliceIndex which of those draws is this image's
 * @param scheduler the sampler's short name; null: the worker's model's own scheduler
 * @param attempt   1 for the first try; the coordinator re-issues with a higher number
 * @param objectKey where the PNG goes in the bucket
 */
@JsonPropertyOrder({"schemaVersion", "jobId", "batchId", "index", "total", "prompt", "negativePrompt",
        "steps", "guidance", "width", "height", "scheduler", "model", "seed", "seedMode", "batchSize",
        "sliceIndex", "attempt", "objectKey"})
public record RenderJob(
        int schemaVersion,
        String jobId,
        String batchId,
        int index,
        int total,
        String prompt,
        String negativePrompt,
        int steps,
        double guidance,
        int width,
        int height,
        String scheduler,
        String model,
        long seed,
        SeedMode seedMode,
        int batchSize,
        int sliceIndex,
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
        Objects.requireNonNull(prompt, "prompt");
        negativePrompt = negativePrompt == null ? "" : negativePrompt;
        Objects.requireNonNull(seedMode, "seedMode");
        Objects.requireNonNull(objectKey, "objectKey");
        if (steps < 1 || width < 8 || height < 8) {
            throw new IllegalArgumentException("steps, width and height must be positive");
        }
        if (batchSize < 1 || sliceIndex < 0 || sliceIndex >= batchSize) {
            throw new IllegalArgumentException("sliceIndex " + sliceIndex + " is outside 0.." + (batchSize - 1));
        }
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt " + attempt + " must be at least 1");
        }
    }

    /**
     * The job for image {@code index} of a request whose {@code batchId} and {@code seed} the
     * coordinator has filled in, first attempt.
     */
    public static RenderJob forImage(RenderRequest request, int index, String objectKey) {
        if (request.batchId() == null || request.seed() == null) {
            throw new IllegalArgumentException("the request needs its batchId and seed before fan-out");
        }
        int total = request.imageCount();
        SeedMode mode = request.seedModeValue();
        boolean batch = mode == SeedMode.BATCH;
        return new RenderJob(SCHEMA_VERSION, jobId(request.batchId(), index), request.batchId(), index, total,
                request.promptFor(index), request.negativePrompt(), request.steps(), request.guidance(),
                request.width(), request.height(), request.scheduler(), request.model(), request.seed(), mode,
                batch ? total : 1, batch ? index : 0, 1, objectKey);
    }

    /** {@code batchId/0007}: unique per image, and sorts in image order. */
    public static String jobId(String batchId, int index) {
        return batchId + "/" + String.format("%04d", index);
    }

    /** The seed of the generator that draws this image's noise (S, or S + index per image). */
    public long generatorSeed() {
        return seedMode == SeedMode.BATCH ? seed : seed + index;
    }

    /** The same job, tried again. */
    public RenderJob withAttempt(int newAttempt) {
        return new RenderJob(schemaVersion, jobId, batchId, index, total, prompt, negativePrompt, steps, guidance,
                width, height, scheduler, model, seed, seedMode, batchSize, sliceIndex, newAttempt, objectKey);
    }

    /**
     * Whether two jobs can share one denoising batch on a worker: same model, size, steps,
     * scheduler and guidance (prompts and noise may differ).
     */
    public boolean compatibleWith(RenderJob other) {
        return Objects.equals(model, other.model) && width == other.width && height == other.height
                && steps == other.steps && Objects.equals(scheduler, other.scheduler)
                && Double.compare(guidance, other.guidance) == 0;
    }
}
