package io.latentfarm.worker.service;

import io.latentfarm.common.Topics;
import io.latentfarm.common.message.RecordLimits;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.common.validation.Limits;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How a {@link JobWorker} talks to Kafka and paces itself.
 *
 * @param bootstrap        Kafka bootstrap servers
 * @param topics           topic names
 * @param groupId          the workers' consumer group: jobs are shared among its members
 * @param workerId         this worker's name in results and logs
 * @param maxBatch         most jobs taken in one poll; compatible ones of one batch share a denoising call
 * @param progressInterval least time between two step-progress events of one job
 * @param shutdownGrace    how long closing waits for a job in flight before handing it back
 * @param retryBackoff     wait before retrying a job whose upload or result could not be written
 * @param kafka            extra client settings (security, timeouts), applied to consumer and producer
 * @param keys             the object key layout (the operator's key prefix): the worker builds each
 *                         image's key itself and refuses a job that names another
 * @param limits           what a job may ask for (the coordinator's request limits): others are dead-lettered
 * @param recordLimits     how large a job taken, and a record written, may be
 * @param groupInstanceId  optional static membership ({@code group.instance.id}): a worker restarted in
 *                         place within the session timeout gets its partitions back without a rebalance
 * @param sessionTimeout   how long the group waits for a silent worker before its partitions (and the
 *                         job it held) go to the others: the most a killed worker delays its job
 */
public record WorkerSettings(String bootstrap, Topics topics, String groupId, String workerId, int maxBatch,
                             Duration progressInterval, Duration shutdownGrace, Duration retryBackoff,
                             Map<String, String> kafka, ObjectKeys keys, Limits limits, RecordLimits recordLimits,
                             String groupInstanceId, Duration sessionTimeout) {
    /** A killed worker's job goes elsewhere 10 s after the kill (Kafka's own default: 45 s). */
    public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(10);

    public static final String DEFAULT_GROUP = "latentfarm-workers";
    private static final java.util.concurrent.atomic.AtomicInteger COUNTER = new java.util.concurrent.atomic.AtomicInteger();

    public WorkerSettings {
        Objects.requireNonNull(bootstrap, "bootstrap");
        Objects.requireNonNull(topics, "topics");
        groupId = groupId == null || groupId.isBlank() ? DEFAULT_GROUP : groupId;
        workerId = workerId == null || workerId.isBlank() ? defaultWorkerId() : workerId;
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch " + maxBatch + " must be at least 1");
        }
        progressInterval = progressInterval == null ? Duration.ofSeconds(1) : progressInterval;
        shutdownGrace = shutdownGrace == null ? Duration.ofSeconds(30) : shutdownGrace;
        retryBackoff = retryBackoff == null ? Duration.ofSeconds(2) : retryBackoff;
        kafka = kafka == null ? Map.of() : Map.copyOf(kafka);
        keys = keys == null ? ObjectKeys.root() : keys;
        limits = limits == null ? Limits.DEFAULTS : limits;
        recordLimits = recordLimits == null ? RecordLimits.DEFAULTS : recordLimits;
        groupInstanceId = groupInstanceId == null || groupInstanceId.isBlank() ? null : groupInstanceId;
        sessionTimeout = sessionTimeout == null ? DEFAULT_SESSION_TIMEOUT : sessionTimeout;
    }

    /** Keys at the bucket's root, default limits, dynamic membership. */
    public WorkerSettings(String bootstrap, Topics topics, String groupId, String workerId, int maxBatch,
                          Duration progressInterval, Duration shutdownGrace, Duration retryBackoff,
                          Map<String, String> kafka) {
        this(bootstrap, topics, groupId, workerId, maxBatch, progressInterval, shutdownGrace, retryBackoff, kafka,
                null, null, null, null, null);
    }

    /** Defaults for everything but the bootstrap servers. */
    public static WorkerSettings defaults(String bootstrap) {
        return new WorkerSettings(bootstrap, Topics.defaults(), null, null, 1, null, null, null, null);
    }

    public WorkerSettings withWorkerId(String id) {
        return new WorkerSettings(bootstrap, topics, groupId, id, maxBatch, progressInterval, shutdownGrace,
                retryBackoff, kafka, keys, limits, recordLimits, groupInstanceId, sessionTimeout);
    }

    public WorkerSettings withTopics(Topics t) {
        return new WorkerSettings(bootstrap, t, groupId, workerId, maxBatch, progressInterval, shutdownGrace,
                retryBackoff, kafka, keys, limits, recordLimits, groupInstanceId, sessionTimeout);
    }

    public WorkerSettings withMaxBatch(int n) {
        return new WorkerSettings(bootstrap, topics, groupId, workerId, n, progressInterval, shutdownGrace,
                retryBackoff, kafka, keys, limits, recordLimits, groupInstanceId, sessionTimeout);
    }

    public WorkerSettings withShutdownGrace(Duration d) {
        return new WorkerSettings(bootstrap, topics, groupId, workerId, maxBatch, progressInterval, d,
                retryBackoff, kafka, keys, limits, recordLimits, groupInstanceId, sessionTimeout);
    }

    public WorkerSettings withKafka(Map<String, String> k) {
        return new WorkerSettings(bootstrap, topics, groupId, workerId, maxBatch, progressInterval, shutdownGrace,
                retryBackoff, k, keys, limits, recordLimits, groupInstanceId, sessionTimeout);
    }

    public WorkerSettings withGroupInstanceId(String id) {
        return new WorkerSettings(bootstrap, topics, groupId, workerId, maxBatch, progressInterval, shutdownGrace,
                retryBackoff, kafka, keys, limits, recordLimits, id, sessionTimeout);
    }

    static String defaultWorkerId() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.io.IOException e) {
                host = "worker";
            }
        }
        // pid and a counter: several workers may share one process (tests, "latentfarm local").
        return host + "-" + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet();
    }
}
