package io.latentfarm.coordinator;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.RenderResult;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * {@code manifest.json}: how a completed batch was made. The request as accepted (batch id and seed
 * filled in), the model, the sampler the workers ran (the model's own when the request names none), each image's prompt, generator seed and slice of the batch draw (what
 * reproduces it), who rendered it in how long, the grid, the batch's wall time, and the workers'
 * warnings (e.g. a prompt truncated to 77 CLIP tokens): per image, and distinct and sorted for the
 * batch as the completed event has them; absent when none.
 */
@JsonPropertyOrder({"batchId", "model", "scheduler", "acceptedAt", "completedAt", "elapsedMs", "renderMs", "warnings", "grid",
        "images", "request"})
public record Manifest(String batchId, String model, String scheduler, String acceptedAt, String completedAt, long elapsedMs,
                       long renderMs, List<String> warnings, Grid grid, List<Image> images, RenderRequest request) {

    public record Grid(String key, int rows, int cols) {
    }

    /**
     * @param seed       the seed of the generator that drew this image's noise
     * @param batchSize  how many images that generator drew
     * @param sliceIndex which of them is this one's
     */
    public record Image(int index, String key, String prompt, long seed, int batchSize, int sliceIndex,
                        String scheduler, String workerId, int attempt, RenderResult.Timings timings, List<String> warnings,
                        String device, String dtype) {
    }

    /** Image {@code i} of the batch: how it is made, and who made it once it is in (null worker before). */
    static Image image(BatchState state, int i) {
        BatchState.Image image = state.images().get(i);
        String key = image != null ? image.objectKey() : null;
        RenderJob job = RenderJob.forImage(state.request(), i, key != null ? key : "(not rendered yet)");
        return image == null
                ? new Image(i, key, job.prompt(), job.generatorSeed(), job.batchSize(), job.sliceIndex(),
                state.request().scheduler(), null, state.attempts().get(i), null, null, null, null)
                : new Image(i, key, job.prompt(), job.generatorSeed(), job.batchSize(), job.sliceIndex(),
                image.scheduler(), image.workerId(), image.attempt(), image.timings(), image.warnings(),
                image.device(), image.dtype());
    }

    static Manifest of(BatchState state) {
        RenderRequest request = state.request();
        List<Image> images = new ArrayList<>();
        Set<String> models = new LinkedHashSet<>();
        Set<String> schedulers = new LinkedHashSet<>();
        long renderMs = 0;
        for (int i = 0; i < state.total(); i++) {
            BatchState.Image image = state.images().get(i);
            images.add(image(state, i));
            if (image.model() != null) {
                models.add(image.model());
            }
            if (image.scheduler() != null) {
                schedulers.add(image.scheduler());
            }
            if (image.timings() != null) {
                renderMs += image.timings().totalMs();
            }
        }
        List<String> warnings = state.warnings();
        String model = request.model() != null ? request.model()
                : models.isEmpty() ? null : String.join(", ", models);
        long completed = Objects.requireNonNullElse(state.completedAt(), state.lastProgressAt());
        String scheduler = !schedulers.isEmpty() ? String.join(", ", schedulers) : request.scheduler();
        return new Manifest(state.batchId(), model, scheduler, Instant.ofEpochMilli(state.acceptedAt()).toString(),
                Instant.ofEpochMilli(completed).toString(), completed - state.acceptedAt(), renderMs,
                warnings.isEmpty() ? null : warnings, new Grid(state.gridKey(), request.gridRows(), request.gridCols()),
                images, request);
    }
}
