package io.latentfarm.common.message;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.latentfarm.common.validation.Violation;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * What happened to a batch, for users, on the events topic keyed by batch id. One record for all
 * types; the fields that do not apply to a type are null and left out of the JSON. Build them with
 * the static factories.
 *
 * <ul>
 *   <li>{@code accepted}: {@code request} (with the batchId and seed the coordinator filled in),
 *       {@code total}, {@code warnings} (e.g. a prompt truncated to 77 CLIP tokens)</li>
 *   <li>{@code rejected}: {@code violations} (field + message each) and {@code reason}, all of
 *       them in one line. It refuses a request with this key: the batch's own, or, after the batch
 *       was accepted, a later one (another batch under the same id, a cancel of a batch not running)</li>
 *   <li>{@code progress}: {@code done}/{@code total} images, and the {@code warnings} of the image
 *       just in, if any; for a job's denoising progress instead {@code jobId}, {@code step}/{@code steps}
 *       and the {@code worker} rendering it (id, model, device)</li>
 *   <li>{@code completed}: {@code bucket}, {@code imageKeys} (in image order; absent for a batch of
 *       more images than the coordinator lists, whose {@code manifest.jsonl} lists them), {@code gridKey}
 *       (absent when no grid was composed), {@code manifestKey}, {@code done}/{@code total}, {@code warnings} (the workers' warnings
 *       about the batch's images, distinct and sorted, e.g. a prompt truncated to 77 CLIP tokens)</li>
 *   <li>{@code failed}, {@code cancelled}: {@code reason}; {@code cancelled} comes once, for a batch
 *       cancelled while running, and no {@code completed} follows it</li>
 * </ul>
 */
@JsonPropertyOrder({"schemaVersion", "type", "batchId", "reason", "violations", "warnings", "done", "total",
        "jobId", "step", "steps", "bucket", "imageKeys", "gridKey", "manifestKey", "worker", "request"})
public record BatchEvent(
        int schemaVersion,
        Type type,
        String batchId,
        String reason,
        List<Violation> violations,
        List<String> warnings,
        Integer done,
        Integer total,
        String jobId,
        Integer step,
        Integer steps,
        String bucket,
        List<String> imageKeys,
        String gridKey,
        String manifestKey,
        RenderRequest request,
        WorkerInfo worker) implements Message {

    /** Who renders a job, in its denoising progress events: what a workers view shows. */
    public record WorkerInfo(String id, String model, String device) {
    }

    public enum Type {
        @JsonProperty("accepted") ACCEPTED,
        @JsonProperty("rejected") REJECTED,
        @JsonProperty("progress") PROGRESS,
        @JsonProperty("completed") COMPLETED,
        @JsonProperty("failed") FAILED,
        @JsonProperty("cancelled") CANCELLED;

        /**
         * Whether this event ends what its request started: no progress or completion follows (a
         * {@code rejected} refusing a later request with the same key still may).
         */
        public boolean isFinal() {
            return this != ACCEPTED && this != PROGRESS;
        }
    }

    public BatchEvent {
        schemaVersion = Message.normalizeVersion(schemaVersion);
        Objects.requireNonNull(type, "type");
        violations = violations == null ? null : List.copyOf(violations);
        warnings = warnings == null ? null : List.copyOf(warnings);
        imageKeys = imageKeys == null ? null : List.copyOf(imageKeys);
    }

    /** @param total the batch's images (a prompt file's, counted when it was read) */
    public static BatchEvent accepted(RenderRequest request, int total, List<String> warnings) {
        return new BatchEvent(SCHEMA_VERSION, Type.ACCEPTED, request.batchId(), null, null, warnings, 0,
                total, null, null, null, null, null, null, null, request, null);
    }

    /** The most violations a {@code rejected} event lists; the rest are counted in one more. */
    public static final int MAX_VIOLATIONS = 20;

    /**
     * @param batchId may be null when the request could not be read far enough to have one
     * @param violations listed up to {@link #MAX_VIOLATIONS}, the rest counted (a list of 50,000
     *                   null prompts has as many violations)
     */
    public static BatchEvent rejected(String batchId, List<Violation> violations) {
        if (violations.size() > MAX_VIOLATIONS) {
            List<Violation> listed = new java.util.ArrayList<>(violations.subList(0, MAX_VIOLATIONS - 1));
            listed.add(new Violation("request", (violations.size() - listed.size()) + " more violations not listed"));
            violations = listed;
        }
        String reason = violations.stream().map(Violation::toString).collect(Collectors.joining("; "));
        return new BatchEvent(SCHEMA_VERSION, Type.REJECTED, batchId, reason, violations, null, null, null,
                null, null, null, null, null, null, null, null, null);
    }

    public static BatchEvent progress(String batchId, int done, int total) {
        return progress(batchId, done, total, null);
    }

    /** An image is in; {@code warnings}: the worker's about it (null or empty: none). */
    public static BatchEvent progress(String batchId, int done, int total, List<String> warnings) {
        return new BatchEvent(SCHEMA_VERSION, Type.PROGRESS, batchId, null, null, noneIfEmpty(warnings), done, total,
                null, null, null, null, null, null, null, null, null);
    }

    /** Denoising progress of one job on {@code worker}: {@code step} of {@code steps} done; no {@code done}. */
    public static BatchEvent jobProgress(String batchId, int total, String jobId, int step, int steps,
                                         WorkerInfo worker) {
        return new BatchEvent(SCHEMA_VERSION, Type.PROGRESS, batchId, null, null, null, null, total,
                jobId, step, steps, null, null, null, null, null, worker);
    }

    public static BatchEvent completed(String batchId, String bucket, List<String> imageKeys, String gridKey,
                                       String manifestKey) {
        return completed(batchId, bucket, imageKeys, gridKey, manifestKey, null);
    }

    /** @param warnings the batch's warnings, distinct and sorted (null or empty: none) */
    public static BatchEvent completed(String batchId, String bucket, List<String> imageKeys, String gridKey,
                                       String manifestKey, List<String> warnings) {
        return completed(batchId, bucket, imageKeys.size(), imageKeys, gridKey, manifestKey, warnings);
    }

    /**
     * @param imageKeys every image's key in order, or null for a batch too large to list them in one
     *                  event (its {@code manifest.jsonl}, beside the manifest, has them)
     * @param gridKey   null when no grid was composed
     */
    public static BatchEvent completed(String batchId, String bucket, int total, List<String> imageKeys,
                                       String gridKey, String manifestKey, List<String> warnings) {
        return new BatchEvent(SCHEMA_VERSION, Type.COMPLETED, batchId, null, null, noneIfEmpty(warnings),
                total, total, null, null, null, bucket, imageKeys, gridKey, manifestKey, null, null);
    }

    public static BatchEvent failed(String batchId, String reason) {
        return new BatchEvent(SCHEMA_VERSION, Type.FAILED, batchId, reason, null, null, null, null,
                null, null, null, null, null, null, null, null, null);
    }

    public static BatchEvent cancelled(String batchId, String reason) {
        return new BatchEvent(SCHEMA_VERSION, Type.CANCELLED, batchId, reason, null, null, null, null,
                null, null, null, null, null, null, null, null, null);
    }

    private static List<String> noneIfEmpty(List<String> warnings) {
        return warnings == null || warnings.isEmpty() ? null : warnings;
    }
}
