package io.latentfarm.worker.service;

import io.latentfarm.common.Topics;

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
 */
public record WorkerSettings(String bootstrap, Topics topics, String groupId, String workerId, int maxBatch,
                             Duration progressInterval, Duration shutdownGrace, Duration retryBackoff,
                             Map<String, String> kafka) {
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
    }

    /** Defaults for everything but the bootstrap servers. */
    public static WorkerSettings defaults(String bootstrap) {
        return new WorkerSettings(bootstrap, Topics.defaults(), null, null, 1, null, null, null, null);
    }

    public WorkerSettings withWorkerId(String id) {
        return new WorkerSettings(bootstrap, topics, groupId, id, maxBatch, progressInterval, shutdownGrace,
                retryBackoff, kafka);
    }

    public WorkerSettings withTopics(Topics t) {
        return new WorkerSettings(bootstrap, t, groupId, workerId, maxBatch, progressInterval, shutdownGrace,
                retryBackoff, kafka);
    }

    public WorkerSettings withMaxBatch(int n) {
        return new WorkerSettings(bootstrap, topics, groupId, workerId, n, progressInterval, shutdownGrace,
                retryBackoff, kafka);
    }

    public WorkerSettings withShutdownGrace(Duration d) {
        return new WorkerSettings(bootstrap, topics, groupId, workerId, maxBatch, progressInterval, d,
                retryBackoff, kafka);
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
