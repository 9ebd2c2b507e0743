package io.latentfarm.coordinator;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.RenderResult;

import java.util.List;

/**
 * {@code manifest.json}: how a completed batch was made. The request as accepted (batch id and seed
 * filled in), the model, the sampler the workers ran (the model's own when the request names none),
 * the grid (absent when none was composed), the batch's wall time and render time, the workers'
 * warnings (distinct and sorted, as the completed event has them; absent when none), and where
 * {@code manifest.jsonl} is: one {@link Image} per line, in image order, for every image. A batch of
 * at most {@code maxListedImages} also lists its images here, as before there was a JSON Lines file.
 *
 * @param lines  the key of {@code manifest.jsonl}
 * @param images every image, for small batches; null otherwise
 */
@JsonPropertyOrder({"batchId", "model", "scheduler", "acceptedAt", "completedAt", "elapsedMs", "renderMs", "total",
        "retried", "warnings", "grid", "lines", "images", "request"})
public record Manifest(String batchId, String model, String scheduler, String acceptedAt, String completedAt,
                       long elapsedMs, long renderMs, int total, int retried, List<String> warnings, Grid grid,
                       String lines, List<Image> images, RenderRequest request) {

    public record Grid(String key, int rows, int cols) {
    }

    /**
     * One image: its prompt, generator seed and slice of the batch draw (what reproduces it), and,
     * once it is in, who rendered it in how long. A line of {@code manifest.jsonl}.
     *
     * @param key        where it is; null before it is in
     * @param seed       the seed of the generator that drew this image's noise
     * @param batchSize  how many images that generator drew
     * @param sliceIndex which of them is this one's
     * @param id         the prompt file line's own label, if it gave one
     */
    @JsonPropertyOrder({"index", "key", "prompt", "seed", "batchSize", "sliceIndex", "scheduler", "workerId", "attempt",
            "timings", "warnings", "device", "dtype", "id"})
    public record Image(int index, String key, String prompt, long seed, int batchSize, int sliceIndex,
                        String scheduler, String workerId, int attempt, RenderResult.Timings timings,
                        List<String> warnings, String device, String dtype,
                        @JsonInclude(JsonInclude.Include.NON_NULL) String id) {
    }

    /** The image of {@code job}, which is in: made as its record says. */
    static Image image(RenderJob job, ImageRecord in) {
        return image(job, in, true, in.attempt());
    }

    /**
     * The image of {@code job}: with its record when known ({@code in} tells whether it is in: an
     * image that is in but whose record is not at hand has its key and no worker), else its key null
     * and the attempt in flight ({@code attempt}; 0: not released yet).
     */
    static Image image(RenderJob job, ImageRecord record, boolean in, int attempt) {
        ImageRecord known = in ? record : null;
        return known == null
                ? new Image(job.index(), in ? job.objectKey() : null, job.prompt(), job.generatorSeed(),
                job.batchSize(), job.sliceIndex(), job.scheduler(), null, attempt, null, null, null, null, job.image().id())
                : new Image(job.index(), known.objectKey(), job.prompt(), job.generatorSeed(), job.batchSize(),
                job.sliceIndex(), known.scheduler(), known.workerId(), known.attempt(), known.timings(),
                known.warnings(), known.device(), known.dtype(), job.image().id());
    }
}
