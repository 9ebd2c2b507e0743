package io.latentfarm.coordinator;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.latentfarm.common.message.Message;
import io.latentfarm.common.message.RenderRequest;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * What the coordinator knows about one batch, of a size that does not grow with the batch: the
 * value of the compacted state topic (key: batch id), rewritten in the same transaction as the
 * events and jobs it causes. The images that are in are records of their own (the batch-images
 * topic, {@link ImageRecord}); this holds their count, the release cursor, and the images in flight
 * (at most the window). Images are released in index order, and an image that fails for good fails
 * the batch, so image {@code i} is in exactly when {@code i < released()} and it is not in flight.
 * Immutable: each change makes a new summary.
 *
 * @param priority       higher is released first (round-robin among equals)
 * @param total          images in the batch
 * @param done           images in
 * @param cursor         where the image source stands: {@code cursor.index()} images are released
 * @param inFlight       released images not in yet, in release order, with their attempt
 * @param retried        jobs issued again so far (after a failed attempt or a silence)
 * @param lastProgressAt when the batch last moved (accepted, an image in, jobs re-issued), epoch ms
 * @param reason         why it failed or was cancelled
 * @param warnings       the workers' warnings about its images, distinct and sorted, at most {@value #MAX_WARNINGS}
 * @param gridKey        the grid's key once completed, when one was composed
 * @param manifestKey    {@code manifest.json}'s key once completed; @param manifestLinesKey {@code manifest.jsonl}'s
 * @param request        the request with the batch id and seed filled in
 */
@JsonPropertyOrder({"schemaVersion", "batchId", "status", "priority", "done", "total", "reason", "acceptedAt",
        "lastProgressAt", "completedAt", "retried", "cursor", "inFlight", "warnings", "bucket", "gridKey", "manifestKey",
        "manifestLinesKey", "request"})
public record BatchSummary(int schemaVersion, String batchId, Status status, int priority, int total, int done,
                           SourceCursor cursor, List<InFlight> inFlight, int retried, long acceptedAt,
                           long lastProgressAt, Long completedAt, String reason, List<String> warnings, String bucket,
                           String gridKey, String manifestKey, String manifestLinesKey, RenderRequest request)
        implements Message {
    static final int MAX_WARNINGS = 20;

    public enum Status {
        @JsonProperty("running") RUNNING,
        @JsonProperty("completed") COMPLETED,
        @JsonProperty("failed") FAILED,
        @JsonProperty("cancelled") CANCELLED
    }

    /**
     * A released image not in yet.
     *
     * @param at        the source's cursor at this image (to read its job again for a retry)
     * @param objectKey where its PNG goes
     * @param attempt   the attempt most recently issued
     * @param issuedAt  when that attempt was issued, epoch ms
     */
    public record InFlight(SourceCursor at, String objectKey, int attempt, long issuedAt) {
        public InFlight {
            Objects.requireNonNull(at, "at");
            Objects.requireNonNull(objectKey, "objectKey");
        }

        @JsonIgnore
        public int index() {
            return at.index();
        }
    }

    public BatchSummary {
        schemaVersion = Message.normalizeVersion(schemaVersion);
        Objects.requireNonNull(batchId, "batchId");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(request, "request");
        // a summary written before there were cursors: only finished batches decode (all released)
        cursor = cursor != null ? cursor : status == Status.RUNNING ? SourceCursor.start() : SourceCursor.at(total);
        inFlight = inFlight == null ? List.of() : List.copyOf(inFlight);
        warnings = warnings == null || warnings.isEmpty() ? null : List.copyOf(warnings);
        if (total < 1 || done < 0 || done > total || cursor.index() > total || done + inFlight.size() > cursor.index()) {
            throw new IllegalArgumentException("batch " + batchId + " summary is inconsistent: " + done + " done, "
                    + inFlight.size() + " in flight, " + cursor.index() + " released of " + total);
        }
    }

    /** From JSON: summaries written before priorities and retry counts existed have neither (0). */
    @JsonCreator
    static BatchSummary fromJson(@JsonProperty("schemaVersion") int schemaVersion,
                                 @JsonProperty("batchId") String batchId, @JsonProperty("status") Status status,
                                 @JsonProperty("priority") Integer priority, @JsonProperty("total") int total,
                                 @JsonProperty("done") int done, @JsonProperty("cursor") SourceCursor cursor,
                                 @JsonProperty("inFlight") List<InFlight> inFlight,
                                 @JsonProperty("retried") Integer retried, @JsonProperty("acceptedAt") long acceptedAt,
                                 @JsonProperty("lastProgressAt") long lastProgressAt,
                                 @JsonProperty("completedAt") Long completedAt, @JsonProperty("reason") String reason,
                                 @JsonProperty("warnings") List<String> warnings, @JsonProperty("bucket") String bucket,
                                 @JsonProperty("gridKey") String gridKey, @JsonProperty("manifestKey") String manifestKey,
                                 @JsonProperty("manifestLinesKey") String manifestLinesKey,
                                 @JsonProperty("request") RenderRequest request) {
        return new BatchSummary(schemaVersion, batchId, status, priority == null ? 0 : priority, total, done, cursor,
                inFlight, retried == null ? 0 : retried, acceptedAt, lastProgressAt, completedAt, reason, warnings,
                bucket, gridKey, manifestKey, manifestLinesKey, request);
    }

    /** A batch just accepted: nothing released yet. */
    static BatchSummary accepted(RenderRequest request, int total, int priority, long now) {
        return new BatchSummary(SCHEMA_VERSION, request.batchId(), Status.RUNNING, priority, total, 0,
                SourceCursor.start(), List.of(), 0, now, now, null, null, null, null, null, null, null, request);
    }

    @JsonIgnore
    public boolean isRunning() {
        return status == Status.RUNNING;
    }

    /** Images released so far (0 .. released-1). */
    @JsonIgnore
    public int released() {
        return cursor.index();
    }

    /** Whether image {@code index} is in. */
    public boolean isIn(int index) {
        return index >= 0 && index < released() && inFlight(index) == null;
    }

    /** The image in flight at {@code index}, or null. */
    public InFlight inFlight(int index) {
        for (InFlight f : inFlight) {
            if (f.index() == index) {
                return f;
            }
        }
        return null;
    }

    BatchSummary withReleased(InFlight image, SourceCursor next) {
        List<InFlight> more = new ArrayList<>(inFlight.size() + 1);
        more.addAll(inFlight);
        more.add(image);
        return new BatchSummary(schemaVersion, batchId, status, priority, total, done, next, more, retried,
                acceptedAt, lastProgressAt, completedAt, reason, warnings, bucket, gridKey, manifestKey,
                manifestLinesKey, request);
    }

    BatchSummary withImageIn(int index, List<String> imageWarnings, long now) {
        List<InFlight> rest = new ArrayList<>(inFlight);
        rest.removeIf(f -> f.index() == index);
        return new BatchSummary(schemaVersion, batchId, status, priority, total, done + 1, cursor, rest, retried,
                acceptedAt, now, completedAt, reason, mergeWarnings(warnings, imageWarnings), bucket, gridKey,
                manifestKey, manifestLinesKey, request);
    }

    /** Image {@code index} issued again as {@code attempt}. */
    BatchSummary withReissued(int index, int attempt, long now) {
        List<InFlight> next = new ArrayList<>(inFlight.size());
        for (InFlight f : inFlight) {
            next.add(f.index() == index ? new InFlight(f.at(), f.objectKey(), attempt, now) : f);
        }
        return new BatchSummary(schemaVersion, batchId, status, priority, total, done, cursor, next, retried + 1,
                acceptedAt, now, completedAt, reason, warnings, bucket, gridKey, manifestKey, manifestLinesKey,
                request);
    }

    BatchSummary completed(long now, String bucketName, String grid, String manifest, String manifestLines) {
        return new BatchSummary(schemaVersion, batchId, Status.COMPLETED, priority, total, done, cursor, inFlight,
                retried, acceptedAt, now, now, null, warnings, bucketName, grid, manifest, manifestLines, request);
    }

    BatchSummary ended(Status end, long now, String why) {
        return new BatchSummary(schemaVersion, batchId, end, priority, total, done, cursor, inFlight, retried,
                acceptedAt, now, now, why, warnings, bucket, gridKey, manifestKey, manifestLinesKey, request);
    }

    /** The union, distinct and sorted, of at most {@value #MAX_WARNINGS}. */
    static List<String> mergeWarnings(List<String> have, List<String> more) {
        if (more == null || more.isEmpty() || have != null && have.size() >= MAX_WARNINGS) {
            return have;
        }
        TreeSet<String> all = new TreeSet<>();
        if (have != null) {
            all.addAll(have);
        }
        all.addAll(more);
        return all.stream().limit(MAX_WARNINGS).toList();
    }
}
