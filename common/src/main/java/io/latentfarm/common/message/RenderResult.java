package io.latentfarm.common.message;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.latentfarm.common.BatchIds;

import java.util.List;
import java.util.Objects;

/**
 * What a worker reports for one job on the results topic, keyed by batch id.
 *
 * @param objectKey where the PNG was written (rendered only)
 * @param reason    why it failed (failed only)
 * @param timings   where the time went (rendered only; may be null)
 * @param model     the model the worker rendered with (its id or folder name; may be null)
 * @param scheduler the sampler's short name the worker rendered with (rendered only; the model's own
 *                  when the job named none); absent from results written before it existed
 * @param permanent the failure cannot change on a retry (an invalid parameter, a scheduler config
 *                  no sampler supports, a model mismatch): the coordinator fails the image at once
 * @param warnings  what the user should know about how the job was read, one line each naming the
 *                  field (e.g. {@code prompt: 85 CLIP tokens, truncated to 77}); null when none,
 *                  and absent from results written before it existed
 * @param device    where the image was computed ({@code cpu}, {@code cuda:0}); null in results
 *                  written before it existed
 * @param dtype     the precision it was computed in ({@code fp32}, {@code fp16}, {@code bf16}); null
 *                  in results written before it existed
 */
@JsonPropertyOrder({"schemaVersion", "batchId", "index", "jobId", "status", "objectKey", "reason",
        "workerId", "timings", "attempt", "model", "scheduler", "permanent", "warnings", "device", "dtype"})
public record RenderResult(
        int schemaVersion,
        String batchId,
        int index,
        String jobId,
        Status status,
        String objectKey,
        String reason,
        String workerId,
        Timings timings,
        int attempt,
        String model,
        String scheduler,
        Boolean permanent,
        List<String> warnings,
        String device,
        String dtype) implements Message {

    public enum Status {
        @JsonProperty("rendered") RENDERED,
        @JsonProperty("failed") FAILED
    }

    /**
     * Milliseconds spent per stage of the worker's call: {@code encodeMs} the text encoder,
     * {@code denoiseMs} the denoising steps, {@code decodeMs} the VAE and the PNG, {@code uploadMs}
     * the upload; {@code totalMs} is wall time for the job, not the sum.
     */
    public record Timings(long encodeMs, long denoiseMs, long decodeMs, long uploadMs, long totalMs) {
    }

    public RenderResult {
        schemaVersion = Message.normalizeVersion(schemaVersion);
        BatchIds.requireValid(batchId);
        Objects.requireNonNull(status, "status");
        if (jobId == null) {
            jobId = RenderJob.jobId(batchId, index);
        }
        warnings = warnings == null || warnings.isEmpty() ? null : List.copyOf(warnings);
        permanent = Boolean.TRUE.equals(permanent) ? Boolean.TRUE : null; // written only when true
    }

    /** A result without scheduler, permanence, device and dtype (as written before they existed). */
    public RenderResult(int schemaVersion, String batchId, int index, String jobId, Status status, String objectKey,
                        String reason, String workerId, Timings timings, int attempt, String model,
                        List<String> warnings) {
        this(schemaVersion, batchId, index, jobId, status, objectKey, reason, workerId, timings, attempt, model,
                null, null, warnings, null, null);
    }

    /** A result without device and dtype (as written before they existed). */
    public RenderResult(int schemaVersion, String batchId, int index, String jobId, Status status, String objectKey,
                        String reason, String workerId, Timings timings, int attempt, String model,
                        String scheduler, Boolean permanent, List<String> warnings) {
        this(schemaVersion, batchId, index, jobId, status, objectKey, reason, workerId, timings, attempt, model,
                scheduler, permanent, warnings, null, null);
    }

    public static RenderResult rendered(RenderJob job, String workerId, Timings timings) {
        return rendered(job, workerId, job.model(), timings);
    }

    public static RenderResult rendered(RenderJob job, String workerId, String model, Timings timings) {
        return rendered(job, workerId, model, timings, null);
    }

    /** @param warnings one line each, naming the field; null or empty: none */
    public static RenderResult rendered(RenderJob job, String workerId, String model, Timings timings,
                                        List<String> warnings) {
        return rendered(job, workerId, model, timings, warnings, null, null);
    }

    /** @param device where it was computed (cpu, cuda:0); @param dtype in which precision (fp32, fp16, bf16) */
    public static RenderResult rendered(RenderJob job, String workerId, String model, Timings timings,
                                        List<String> warnings, String device, String dtype) {
        return new RenderResult(SCHEMA_VERSION, job.batchId(), job.index(), job.jobId(), Status.RENDERED,
                job.objectKey(), null, workerId, timings, job.attempt(), model, job.scheduler(), null, warnings,
                device, dtype);
    }

    public static RenderResult failed(RenderJob job, String workerId, String reason) {
        return new RenderResult(SCHEMA_VERSION, job.batchId(), job.index(), job.jobId(), Status.FAILED,
                null, reason, workerId, null, job.attempt(), job.model(), job.scheduler(), null, null);
    }

    /** This result naming the scheduler that was used. */
    public RenderResult withScheduler(String used) {
        return new RenderResult(schemaVersion, batchId, index, jobId, status, objectKey, reason, workerId, timings,
                attempt, model, used, permanent, warnings, device, dtype);
    }

    /** This failure marked as one no retry can change. */
    public RenderResult asPermanent() {
        return new RenderResult(schemaVersion, batchId, index, jobId, status, objectKey, reason, workerId, timings,
                attempt, model, scheduler, Boolean.TRUE, warnings, device, dtype);
    }

    /** {@link #permanent}: no retry can change this failure. */
    @JsonIgnore
    public boolean failsOnEveryTry() {
        return Boolean.TRUE.equals(permanent);
    }

    @JsonIgnore
    public boolean isRendered() {
        return status == Status.RENDERED;
    }
}
