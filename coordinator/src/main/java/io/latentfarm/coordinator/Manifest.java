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
 * filled in), the model, each image's prompt, generator seed and slice of the batch draw (what
 * reproduces it), who rendered it in how long, the grid, the batch's wall time, and the workers'
 * warnings (e.g. a prompt truncated to 77 CLIP tokens): per image, and distinct and sorted for the
 * batch as the completed event has them; absent when none.
 */
@JsonPropertyOrder({"batchId", "model", "acceptedAt", "completedAt", "elapsedMs", "renderMs", "warnings", "grid",
        "images", "request"})
public record Manifest(String batchId, String model, String acceptedAt, String completedAt, long elapsedMs,
                       long renderMs, List<String> warnings, Grid grid, List<Image> images, RenderRequest request) {

    public record Grid(String key, int rows, int cols) {
    }

    /**
     * @param seed       the seed of the generator that drew this image's noise
     * @param batchSize  how many images that generator drew
     * @param sliceIndex which of them is this one's
     */
    public record Image(int index, String key, String prompt, long seed, int batchSize, int sliceIndex,
                        String workerId, int attempt, RenderResult.Timings timings, List<String> warnings,
                        String device, String dtype) {
    }

    static Manifest of(BatchState state) {
        RenderRequest request = state.request();
        List<Image> images = new ArrayList<>();
        Set<String> models = new LinkedHashSet<>();
        long renderMs = 0;
        for (int i = 0; i < state.total(); i++) {
            BatchState.Image image = state.images().get(i);
            RenderJob job = RenderJob.forImage(request, i, image.objectKey());
            images.add(new Image(i, image.objectKey(), job.prompt(), job.generatorSeed(), job.batchSize(),
                    job.sliceIndex(), image.workerId(), image.attempt(), image.timings(), image.warnings(),
                    image.device(), image.dtype()));
            if (image.model() != null) {
                models.add(image.model());
            }
            if (image.timings() != null) {
                renderMs += image.timings().totalMs();
            }
        }
        List<String> warnings = state.warnings();
        String model = request.model() != null ? request.model()
                : models.isEmpty() ? null : String.join(", ", models);
        long completed = Objects.requireNonNullElse(state.completedAt(), state.lastProgressAt());
        return new Manifest(state.batchId(), model, Instant.ofEpochMilli(state.acceptedAt()).toString(),
                Instant.ofEpochMilli(completed).toString(), completed - state.acceptedAt(), renderMs,
                warnings.isEmpty() ? null : warnings, new Grid(state.gridKey(), request.gridRows(), request.gridCols()),
                images, request);
    }
}
