package io.latentfarm.common;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Kafka topic names, all under one configurable prefix (default {@value #DEFAULT_PREFIX}), so
 * several deployments can share a cluster.
 *
 * @param prefix prepended to every name as is; may be empty
 */
public record Topics(String prefix) {
    public static final String DEFAULT_PREFIX = "latentfarm.";

    // Kafka's legal topic characters; the longest name ("batch-images") must stay within 249.
    private static final Pattern LEGAL = Pattern.compile("[A-Za-z0-9._-]*");
    private static final int MAX_PREFIX = 249 - "batch-images".length();

    public Topics {
        Objects.requireNonNull(prefix, "prefix");
        if (!LEGAL.matcher(prefix).matches() || prefix.length() > MAX_PREFIX) {
            throw new IllegalArgumentException("topic prefix \"" + prefix
                    + "\" must be at most " + MAX_PREFIX + " of the characters A-Z a-z 0-9 . _ -");
        }
    }

    /** The default names: {@code latentfarm.requests}, {@code latentfarm.jobs}, ... */
    public static Topics defaults() {
        return new Topics(DEFAULT_PREFIX);
    }

    /** Render batch requests, keyed by batch id. */
    public String requests() {
        return prefix + "requests";
    }

    /** One image to render each, keyed by job id. */
    public String jobs() {
        return prefix + "jobs";
    }

    /** Rendered or failed images, keyed by batch id. */
    public String results() {
        return prefix + "results";
    }

    /** Batch lifecycle events for users, keyed by batch id. */
    public String events() {
        return prefix + "events";
    }

    /** Jobs that failed for good and undecodable messages, with the error. */
    public String jobsDlq() {
        return prefix + "jobs.dlq";
    }

    /**
     * The coordinator's batch summaries, keyed by batch id (status, counts, release cursor, the
     * images in flight; never a list of all images): a compacted topic written in the same
     * transactions as its events and jobs, from which a restarted coordinator rebuilds.
     */
    public String batchState() {
        return prefix + "batches";
    }

    /**
     * One record per image a batch has in (what its worker reported), keyed {@code batchId/index}
     * ({@link io.latentfarm.common.message.RenderJob#jobId}): a compacted topic, co-partitioned with
     * the batch state, written once per image in the transaction that counts it, and read back
     * when the batch's manifest is written.
     */
    public String batchImages() {
        return prefix + "batch-images";
    }

    /**
     * Cancelled batches, keyed by batch id (value: the {@code cancelled} event): a small compacted
     * topic the coordinator writes in the same transaction as the cancellation, and every worker
     * reads whole, to skip the jobs of those batches.
     */
    public String cancels() {
        return prefix + "cancels";
    }

    /** Every topic this project uses. */
    public List<String> all() {
        return List.of(requests(), jobs(), results(), events(), jobsDlq(), batchState(), batchImages(), cancels());
    }
}
