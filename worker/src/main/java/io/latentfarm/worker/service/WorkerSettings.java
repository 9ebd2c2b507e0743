package io.latentfarm.worker.service;

import io.latentfarm.client.RequestLimitsConfig;
import io.latentfarm.client.kafka.KafkaClientProperties;
import io.latentfarm.client.kafka.KafkaConfig;
import io.latentfarm.client.storage.ObjectStoreConfig;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.RecordLimits;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.common.validation.Limits;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How a {@link JobWorker} talks to Kafka and paces itself: in the service, {@link #of} the bound
 * configuration (defaults in {@code application-worker.yml}); in tests, {@link #builder}.
 *
 * @param kafka            the Kafka clients' settings (bootstrap servers and pass-through)
 * @param topics           topic names
 * @param groupId          the workers' consumer group: jobs are shared among its members
 * @param workerId         this worker's name in results and logs; null: host name, process id and a counter
 * @param maxBatch         most jobs taken in one poll; compatible ones of one batch share a denoising call
 * @param progressInterval least time between two step-progress events of one job
 * @param shutdownGrace    how long closing waits for a job in flight before handing it back
 * @param retryBackoff     wait before retrying a job whose upload or result could not be written
 * @param keys             the object key layout (the operator's key prefix): the worker builds each
 *                         image's key itself and refuses a job that names another
 * @param limits           what a job may ask for (the coordinator's request limits): others are dead-lettered
 * @param recordLimits     how large a job taken, and a record written, may be
 * @param groupInstanceId  optional static membership ({@code group.instance.id}): a worker restarted in
 *                         place within the session timeout gets its partitions back without a rebalance
 * @param sessionTimeout   how long the group waits for a silent worker before its partitions (and the
 *                         job it held) go to the others: the most a killed worker delays its job
 */
public record WorkerSettings(KafkaClientProperties kafka, Topics topics, String groupId, String workerId,
                             int maxBatch, Duration progressInterval, Duration shutdownGrace, Duration retryBackoff,
                             ObjectKeys keys, Limits limits, RecordLimits recordLimits, String groupInstanceId,
                             Duration sessionTimeout) {
    private static final AtomicInteger COUNTER = new AtomicInteger();

    public WorkerSettings {
        Objects.requireNonNull(kafka, "kafka");
        Objects.requireNonNull(topics, "topics");
        Objects.requireNonNull(groupId, "groupId");
        workerId = workerId == null || workerId.isBlank() ? defaultWorkerId() : workerId;
        if (maxBatch < 1) {
            throw new IllegalArgumentException("latentfarm.worker.max-batch " + maxBatch + " must be at least 1");
        }
        Objects.requireNonNull(progressInterval, "progressInterval");
        Objects.requireNonNull(shutdownGrace, "shutdownGrace");
        Objects.requireNonNull(retryBackoff, "retryBackoff");
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(recordLimits, "recordLimits");
        groupInstanceId = groupInstanceId == null || groupInstanceId.isBlank() ? null : groupInstanceId;
        Objects.requireNonNull(sessionTimeout, "sessionTimeout");
    }

    /** The service's settings, from its bound configuration. */
    public static WorkerSettings of(WorkerConfig worker, RequestLimitsConfig limits, KafkaConfig kafka,
                                    ObjectStoreConfig s3) {
        return new WorkerSettings(kafka.clientProperties(), kafka.topics(), worker.groupId(), worker.workerId(),
                worker.maxBatch(), worker.progressInterval(), worker.shutdownGrace(), worker.retryBackoff(), s3.keys(),
                limits.limits(), kafka.recordLimits(), worker.groupInstanceId(), worker.sessionTimeout());
    }

    /** Settings built field by field (tests); every field but the key layout, limits, ids and membership must be set. */
    public static Builder builder() {
        return new Builder();
    }

    /** A copy to change a few fields of. */
    public Builder toBuilder() {
        return new Builder().kafka(kafka).topics(topics).groupId(groupId).workerId(workerId).maxBatch(maxBatch)
                .progressInterval(progressInterval).shutdownGrace(shutdownGrace).retryBackoff(retryBackoff).keys(keys)
                .limits(limits).recordLimits(recordLimits).groupInstanceId(groupInstanceId)
                .sessionTimeout(sessionTimeout);
    }

    public static final class Builder {
        private KafkaClientProperties kafka;
        private Topics topics;
        private String groupId;
        private String workerId;
        private int maxBatch;
        private Duration progressInterval;
        private Duration shutdownGrace;
        private Duration retryBackoff;
        private ObjectKeys keys = ObjectKeys.root();
        private Limits limits = Limits.DEFAULTS;
        private RecordLimits recordLimits = RecordLimits.DEFAULTS;
        private String groupInstanceId;
        private Duration sessionTimeout;

        private Builder() {
        }

        public Builder kafka(KafkaClientProperties v) { kafka = v; return this; }
        public Builder bootstrap(String v) { kafka = KafkaClientProperties.of(v); return this; }
        public Builder topics(Topics v) { topics = v; return this; }
        public Builder groupId(String v) { groupId = v; return this; }
        public Builder workerId(String v) { workerId = v; return this; }
        public Builder maxBatch(int v) { maxBatch = v; return this; }
        public Builder progressInterval(Duration v) { progressInterval = v; return this; }
        public Builder shutdownGrace(Duration v) { shutdownGrace = v; return this; }
        public Builder retryBackoff(Duration v) { retryBackoff = v; return this; }
        public Builder keys(ObjectKeys v) { keys = v; return this; }
        public Builder limits(Limits v) { limits = v; return this; }
        public Builder recordLimits(RecordLimits v) { recordLimits = v; return this; }
        public Builder groupInstanceId(String v) { groupInstanceId = v; return this; }
        public Builder sessionTimeout(Duration v) { sessionTimeout = v; return this; }

        public WorkerSettings build() {
            return new WorkerSettings(kafka, topics, groupId, workerId, maxBatch, progressInterval, shutdownGrace,
                    retryBackoff, keys, limits, recordLimits, groupInstanceId, sessionTimeout);
        }
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
