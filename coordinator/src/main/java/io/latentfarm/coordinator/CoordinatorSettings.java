package io.latentfarm.coordinator;

import io.latentfarm.client.RequestLimitsConfig;
import io.latentfarm.client.kafka.KafkaClientProperties;
import io.latentfarm.client.kafka.KafkaConfig;
import io.latentfarm.client.storage.ObjectStoreConfig;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.RecordLimits;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.common.validation.Limits;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How a {@link Coordinator} is set up: in the service, {@link #of} the bound configuration
 * ({@code latentfarm.kafka.*}, {@code latentfarm.s3.key-prefix}, {@code latentfarm.coordinator.*}, whose
 * defaults are in {@code application-coordinator.yml}); in tests, {@link #builder}.
 *
 * @param bootstrap        Kafka bootstrap servers
 * @param topics           topic names
 * @param keys             object key layout (the operator's key prefix)
 * @param groupId          the coordinators' consumer group (requests and results)
 * @param transactionalId  this instance's transactional id: stable across its restarts (a restarted
 *                         instance fences its previous self), distinct between live instances
 * @param partitions       partitions of the requests, results, events and state topics when this
 *                         coordinator creates them (requests, results and state must match: a batch's
 *                         request, results and state live on the same partition number)
 * @param jobPartitions    partitions of the jobs topic when created: the most workers that can share work
 * @param createTopics     create missing topics on start
 * @param maxAttempts      tries per image before its job goes to the dead-letter topic and the batch fails
 * @param reissueAfter     a running batch with no result for this long gets its missing jobs re-issued
 * @param limits           what requests may ask for
 * @param kafka            pass-through Kafka client settings (security, timeouts) for every client
 * @param recordLimits     how large requests and results taken, and records written, may be; checked
 *                         against the producer's {@code max.request.size} on start
 * @param window           most jobs a running batch has outstanding; more are released as results come in
 * @param maxGridImages    most images a grid is composed of (it is held in memory); a batch asking for
 *                         {@code rows x cols} beyond this gets its manifest without a grid
 * @param maxListedImages  most images a completed event and {@code manifest.json} list one by one
 *                         (larger batches: {@code manifest.jsonl} only)
 */
public record CoordinatorSettings(String bootstrap, Topics topics, ObjectKeys keys, String groupId,
                                  String transactionalId, int partitions, int jobPartitions, boolean createTopics,
                                  int maxAttempts, Duration reissueAfter, Limits limits, Map<String, String> kafka,
                                  RecordLimits recordLimits, int window, int maxGridImages,
                                  int maxListedImages) {
    /** Bytes of one image in flight in a batch summary's JSON, at most (a 64-character batch id). */
    static final int IN_FLIGHT_BYTES = 256;

    public CoordinatorSettings {
        Objects.requireNonNull(bootstrap, "bootstrap");
        Objects.requireNonNull(topics, "topics");
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(groupId, "groupId");
        transactionalId = transactionalId == null || transactionalId.isBlank()
                ? groupId + "-" + hostName() : transactionalId;
        if (partitions < 1 || jobPartitions < 1 || maxAttempts < 1) {
            throw new IllegalArgumentException("latentfarm.coordinator: partitions " + partitions + ", job-partitions "
                    + jobPartitions + " and max-attempts " + maxAttempts + " must be at least 1");
        }
        Objects.requireNonNull(reissueAfter, "reissueAfter");
        Objects.requireNonNull(limits, "limits");
        kafka = kafka == null ? Map.of() : Map.copyOf(kafka);
        Objects.requireNonNull(recordLimits, "recordLimits");
        if (window < 1 || maxGridImages < 0 || maxListedImages < 0) {
            throw new IllegalArgumentException("latentfarm.coordinator: window " + window + " must be at least 1,"
                    + " max-grid-images " + maxGridImages + " and max-listed-images " + maxListedImages + " at least 0");
        }
        // A batch's summary lists every image in flight beside its request: they get at most half
        // a record (a request so large that the rest does not fit is refused as a poison record).
        int maxWindow = recordLimits.maxRecordBytes() / 2 / IN_FLIGHT_BYTES;
        if (window > maxWindow) {
            throw new IllegalArgumentException("latentfarm.coordinator.window " + window + " is more than " + maxWindow
                    + ": a batch summary lists every image in flight, in at most half of"
                    + " latentfarm.kafka.max-record-bytes " + recordLimits.maxRecordBytes());
        }
    }

    /** The service's settings, from its bound configuration. */
    public static CoordinatorSettings of(CoordinatorConfig coordinator, RequestLimitsConfig limits, KafkaConfig kafka,
                                         ObjectStoreConfig s3) {
        return new CoordinatorSettings(kafka.bootstrap(), kafka.topics(), s3.keys(), coordinator.groupId(),
                coordinator.transactionalId(), coordinator.partitions(), coordinator.jobPartitions(),
                coordinator.createTopics(), coordinator.maxAttempts(), coordinator.reissueAfter(), limits.limits(),
                kafka.properties(), kafka.recordLimits(), coordinator.window(),
                coordinator.maxGridImages(), coordinator.maxListedImages());
    }

    /** The one source of every Kafka client's settings. */
    public KafkaClientProperties clientProperties() {
        return new KafkaClientProperties(bootstrap, kafka);
    }

    /** Settings built field by field (tests); every field but the key layout, limits and pass-through must be set. */
    public static Builder builder() {
        return new Builder();
    }

    /** A copy to change a few fields of. */
    public Builder toBuilder() {
        return new Builder().bootstrap(bootstrap).topics(topics).keys(keys).groupId(groupId)
                .transactionalId(transactionalId).partitions(partitions).jobPartitions(jobPartitions)
                .createTopics(createTopics).maxAttempts(maxAttempts).reissueAfter(reissueAfter).limits(limits)
                .kafka(kafka).recordLimits(recordLimits).window(window).maxGridImages(maxGridImages)
                .maxListedImages(maxListedImages);
    }

    public static final class Builder {
        private String bootstrap;
        private Topics topics;
        private ObjectKeys keys = ObjectKeys.root();
        private String groupId;
        private String transactionalId;
        private int partitions;
        private int jobPartitions;
        private boolean createTopics;
        private int maxAttempts;
        private Duration reissueAfter;
        private Limits limits = Limits.DEFAULTS;
        private Map<String, String> kafka = Map.of();
        private RecordLimits recordLimits = RecordLimits.DEFAULTS;
        private int window;
        private int maxGridImages;
        private int maxListedImages;

        private Builder() {
        }

        public Builder bootstrap(String v) { bootstrap = v; return this; }
        public Builder topics(Topics v) { topics = v; return this; }
        public Builder keys(ObjectKeys v) { keys = v; return this; }
        public Builder groupId(String v) { groupId = v; return this; }
        public Builder transactionalId(String v) { transactionalId = v; return this; }
        public Builder partitions(int v) { partitions = v; return this; }
        public Builder jobPartitions(int v) { jobPartitions = v; return this; }
        public Builder createTopics(boolean v) { createTopics = v; return this; }
        public Builder maxAttempts(int v) { maxAttempts = v; return this; }
        public Builder reissueAfter(Duration v) { reissueAfter = v; return this; }
        public Builder limits(Limits v) { limits = v; return this; }
        public Builder kafka(Map<String, String> v) { kafka = v; return this; }
        public Builder recordLimits(RecordLimits v) { recordLimits = v; return this; }
        public Builder window(int v) { window = v; return this; }
        public Builder maxGridImages(int v) { maxGridImages = v; return this; }
        public Builder maxListedImages(int v) { maxListedImages = v; return this; }

        public CoordinatorSettings build() {
            return new CoordinatorSettings(bootstrap, topics, keys, groupId, transactionalId, partitions,
                    jobPartitions, createTopics, maxAttempts, reissueAfter, limits, kafka, recordLimits, window,
                    maxGridImages, maxListedImages);
        }
    }

    /** The rules of the batch lifecycle these settings make. */
    BatchMachine.Rules rules() {
        return new BatchMachine.Rules(window, maxAttempts, reissueAfter.toMillis(), maxListedImages);
    }

    private static String hostName() {
        String host = System.getenv("HOSTNAME");
        if (host != null && !host.isBlank()) {
            return host;
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "0";
        }
    }
}
