package io.latentfarm.coordinator;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.latentfarm.common.message.Message;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.RenderResult;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * What the coordinator knows about one batch; the value of the compacted state topic (key: batch
 * id), rewritten in the same transaction as every event and job it causes. Immutable: each change
 * makes a new state.
 *
 * @param request        the request with the batch id and seed filled in
 * @param attempts       per image, the attempt most recently issued
 * @param images         per image, its result once rendered (null entries: still missing)
 * @param lastProgressAt when the batch last moved (accepted, an image in, jobs re-issued), epoch ms
 * @param reason         why it failed or was cancelled
 * @param completedAt    when it completed, failed or was cancelled, epoch ms
 */
@JsonPropertyOrder({"schemaVersion", "batchId", "status", "done", "total", "reason", "acceptedAt", "lastProgressAt",
        "completedAt", "bucket", "gridKey", "manifestKey", "attempts", "images", "request"})
public record BatchState(int schemaVersion, String batchId, Status status, RenderRequest request, long acceptedAt,
                         long lastProgressAt, List<Integer> attempts, List<Image> images, String reason,
                         Long completedAt, String bucket, String gridKey, String manifestKey) implements Message {

    public enum Status {
        @JsonProperty("running") RUNNING,
        @JsonProperty("completed") COMPLETED,
        @JsonProperty("failed") FAILED,
        @JsonProperty("cancelled") CANCELLED
    }

    /**
     * One rendered image: where it is, who made it how fast, and the worker's warnings about it
     * (null when none, and in states written before images had them).
     *
     * @param scheduler the sampler the worker ran (absent in states written before it existed)
     * @param device    where it was computed; @param dtype in which precision (both absent in older states)
     */
    public record Image(String objectKey, String workerId, int attempt, String model, String scheduler,
                        RenderResult.Timings timings, long receivedAt, List<String> warnings, String device,
                        String dtype) {

        public Image {
            warnings = warnings == null || warnings.isEmpty() ? null : List.copyOf(warnings);
        }

        /** An image without scheduler, device and dtype (states written before they existed). */
        public Image(String objectKey, String workerId, int attempt, String model, RenderResult.Timings timings,
                     long receivedAt, List<String> warnings) {
            this(objectKey, workerId, attempt, model, null, timings, receivedAt, warnings, null, null);
        }

        /** An image without device and dtype (states written before they existed). */
        public Image(String objectKey, String workerId, int attempt, String model, String scheduler,
                     RenderResult.Timings timings, long receivedAt, List<String> warnings) {
            this(objectKey, workerId, attempt, model, scheduler, timings, receivedAt, warnings, null, null);
        }
    }

    public BatchState {
        schemaVersion = Message.normalizeVersion(schemaVersion);
        Objects.requireNonNull(batchId, "batchId");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(request, "request");
        attempts = List.copyOf(attempts);
        images = Collections.unmodifiableList(new ArrayList<>(images));
        if (attempts.size() != request.imageCount() || images.size() != request.imageCount()) {
            throw new IllegalArgumentException("batch " + batchId + " state has " + images.size()
                    + " image slots for " + request.imageCount() + " images");
        }
    }

    /** A batch just accepted: every image at attempt 1, none in. */
    public static BatchState accepted(RenderRequest request, long now) {
        int n = request.imageCount();
        return new BatchState(SCHEMA_VERSION, request.batchId(), Status.RUNNING, request, now, now,
                Collections.nCopies(n, 1), Collections.nCopies(n, null), null, null, null, null, null);
    }

    @JsonProperty("total")
    public int total() {
        return images.size();
    }

    @JsonProperty("done")
    public int done() {
        return (int) images.stream().filter(Objects::nonNull).count();
    }

    @JsonIgnore
    public boolean isRunning() {
        return status == Status.RUNNING;
    }

    /** The warnings of the images in so far, distinct and sorted. */
    @JsonIgnore
    public List<String> warnings() {
        return images.stream().filter(Objects::nonNull).map(Image::warnings).filter(Objects::nonNull)
                .flatMap(List::stream).distinct().sorted().toList();
    }

    /** Images with no result yet, in order. */
    public List<Integer> missing() {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            if (images.get(i) == null) {
                out.add(i);
            }
        }
        return out;
    }

    public BatchState withImage(int index, Image image, long now) {
        List<Image> next = new ArrayList<>(images);
        next.set(index, image);
        return new BatchState(schemaVersion, batchId, status, request, acceptedAt, now, attempts, next, reason,
                completedAt, bucket, gridKey, manifestKey);
    }

    public BatchState withAttempt(int index, int attempt, long now) {
        List<Integer> next = new ArrayList<>(attempts);
        next.set(index, attempt);
        return new BatchState(schemaVersion, batchId, status, request, acceptedAt, now, next, images, reason,
                completedAt, bucket, gridKey, manifestKey);
    }

    public BatchState completed(long now, String bucket, String gridKey, String manifestKey) {
        return new BatchState(schemaVersion, batchId, Status.COMPLETED, request, acceptedAt, now, attempts, images,
                null, now, bucket, gridKey, manifestKey);
    }

    public BatchState failed(long now, String why) {
        return new BatchState(schemaVersion, batchId, Status.FAILED, request, acceptedAt, now, attempts, images,
                why, now, bucket, gridKey, manifestKey);
    }

    /** Cancelled: the images already in stay listed; no grid, no manifest. */
    public BatchState cancelled(long now, String why) {
        return new BatchState(schemaVersion, batchId, Status.CANCELLED, request, acceptedAt, now, attempts, images,
                why, now, bucket, gridKey, manifestKey);
    }
}
