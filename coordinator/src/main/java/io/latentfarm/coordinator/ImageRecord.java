package io.latentfarm.coordinator;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.latentfarm.common.Excerpt;
import io.latentfarm.common.message.Message;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderResult;

import java.util.List;
import java.util.Objects;

/**
 * One image a batch has in: where it is, who made it how fast, and the worker's warnings about it.
 * The value of the compacted batch-images topic, keyed {@link #key()} ({@code batchId/index}),
 * written once, in the transaction that counts the image; bounded (every text cut).
 *
 * @param scheduler the sampler the worker ran; @param device where; @param dtype in which precision
 */
@JsonPropertyOrder({"schemaVersion", "batchId", "index", "objectKey", "workerId", "attempt", "model", "scheduler",
        "timings", "receivedAt", "warnings", "device", "dtype"})
public record ImageRecord(int schemaVersion, String batchId, int index, String objectKey, String workerId,
                          int attempt, String model, String scheduler, RenderResult.Timings timings, long receivedAt,
                          List<String> warnings, String device, String dtype) implements Message {
    /** The most warnings one image keeps (each at most 500 characters). */
    static final int MAX_WARNINGS = 20;

    public ImageRecord {
        schemaVersion = Message.normalizeVersion(schemaVersion);
        Objects.requireNonNull(batchId, "batchId");
        Objects.requireNonNull(objectKey, "objectKey");
        warnings = warnings == null || warnings.isEmpty() ? null : List.copyOf(warnings);
    }

    /** The record of a rendered result, stored under {@code objectKey} (the key the job named). */
    static ImageRecord of(RenderResult r, String objectKey, long now) {
        List<String> warnings = r.warnings() == null ? null
                : r.warnings().stream().limit(MAX_WARNINGS).map(w -> Excerpt.cut(String.valueOf(w))).toList();
        return new ImageRecord(SCHEMA_VERSION, r.batchId(), r.index(), objectKey, Excerpt.cut(r.workerId(), 128),
                r.attempt(), Excerpt.cut(r.model(), 256), Excerpt.cut(r.scheduler(), 64), r.timings(), now, warnings,
                Excerpt.cut(r.device(), 64), Excerpt.cut(r.dtype(), 16));
    }

    /** {@code batchId/0007}: the record's key, the image's job id. */
    public String key() {
        return RenderJob.jobId(batchId, index);
    }
}
