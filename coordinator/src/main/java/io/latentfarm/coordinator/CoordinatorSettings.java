package io.latentfarm.coordinator;

import io.latentfarm.common.Topics;
import io.latentfarm.common.message.RecordLimits;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.common.validation.Limits;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How a {@link Coordinator} is set up.
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
 * @param kafka            extra client settings (security, timeouts) for every client
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
                                  RecordLimits recordLimits, int window, int maxGridImages, int maxListedImages) {
    public static final String DEFAULT_GROUP = "latentfarm-coordinator";
    public static final int DEFAULT_WINDOW = 64;
    public static final int DEFAULT_MAX_GRID_IMAGES = 64;
    public static final int DEFAULT_MAX_LISTED_IMAGES = 1024;
    /** Bytes of one image in flight in a batch summary's JSON, at most (a 64-character batch id). */
    static final int IN_FLIGHT_BYTES = 256;

    public CoordinatorSettings {
        Objects.requireNonNull(bootstrap, "bootstrap");
        topics = topics == null ? Topics.defaults() : topics;
        keys = keys == null ? ObjectKeys.root() : keys;
        groupId = groupId == null || groupId.isBlank() ? DEFAULT_GROUP : groupId;
        transactionalId = transactionalId == null || transactionalId.isBlank()
                ? groupId + "-" + hostName() : transactionalId;
        if (partitions < 1 || jobPartitions < 1 || maxAttempts < 1) {
            throw new IllegalArgumentException("partitions, jobPartitions and maxAttempts must be at least 1");
        }
        reissueAfter = reissueAfter == null ? Duration.ofMinutes(30) : reissueAfter;
        limits = limits == null ? Limits.DEFAULTS : limits;
        kafka = kafka == null ? Map.of() : Map.copyOf(kafka);
        recordLimits = recordLimits == null ? RecordLimits.DEFAULTS : recordLimits;
        if (window < 1 || maxGridImages < 0 || maxListedImages < 0) {
            throw new IllegalArgumentException(
                    "window must be at least 1, max-grid-images and max-listed-images at least 0");
        }
        // A batch's summary lists every image in flight beside its request: they get at most half
        // a record (a request so large that the rest does not fit is refused as a poison record).
        int maxWindow = recordLimits.maxRecordBytes() / 2 / IN_FLIGHT_BYTES;
        if (window > maxWindow) {
            throw new IllegalArgumentException("window " + window + " is more than " + maxWindow
                    + ": a batch summary lists every image in flight, in at most half of max-record-bytes "
                    + recordLimits.maxRecordBytes());
        }
    }

    /** With the default window, grid and listing limits. */
    public CoordinatorSettings(String bootstrap, Topics topics, ObjectKeys keys, String groupId,
                               String transactionalId, int partitions, int jobPartitions, boolean createTopics,
                               int maxAttempts, Duration reissueAfter, Limits limits, Map<String, String> kafka,
                               RecordLimits recordLimits) {
        this(bootstrap, topics, keys, groupId, transactionalId, partitions, jobPartitions, createTopics, maxAttempts,
                reissueAfter, limits, kafka, recordLimits, DEFAULT_WINDOW, DEFAULT_MAX_GRID_IMAGES,
                DEFAULT_MAX_LISTED_IMAGES);
    }

    /** With the default record limits. */
    public CoordinatorSettings(String bootstrap, Topics topics, ObjectKeys keys, String groupId,
                               String transactionalId, int partitions, int jobPartitions, boolean createTopics,
                               int maxAttempts, Duration reissueAfter, Limits limits, Map<String, String> kafka) {
        this(bootstrap, topics, keys, groupId, transactionalId, partitions, jobPartitions, createTopics, maxAttempts,
                reissueAfter, limits, kafka, null);
    }

    /**
     * Defaults: 3 partitions, 12 job partitions, 3 attempts, re-issue after 30 minutes of silence, a
     * window of {@value #DEFAULT_WINDOW} jobs per batch, grids of at most {@value #DEFAULT_MAX_GRID_IMAGES} images.
     */
    public static CoordinatorSettings defaults(String bootstrap) {
        return new CoordinatorSettings(bootstrap, null, null, null, null, 3, 12, true, 3, null, null, null);
    }

    public CoordinatorSettings withTopics(Topics t) {
        return new CoordinatorSettings(bootstrap, t, keys, groupId, transactionalId, partitions, jobPartitions,
                createTopics, maxAttempts, reissueAfter, limits, kafka, recordLimits, window, maxGridImages,
                maxListedImages);
    }

    public CoordinatorSettings withJobPartitions(int n) {
        return new CoordinatorSettings(bootstrap, topics, keys, groupId, transactionalId, partitions, n,
                createTopics, maxAttempts, reissueAfter, limits, kafka, recordLimits, window, maxGridImages,
                maxListedImages);
    }

    public CoordinatorSettings withReissueAfter(Duration d) {
        return new CoordinatorSettings(bootstrap, topics, keys, groupId, transactionalId, partitions, jobPartitions,
                createTopics, maxAttempts, d, limits, kafka, recordLimits, window, maxGridImages, maxListedImages);
    }

    public CoordinatorSettings withMaxAttempts(int n) {
        return new CoordinatorSettings(bootstrap, topics, keys, groupId, transactionalId, partitions, jobPartitions,
                createTopics, n, reissueAfter, limits, kafka, recordLimits, window, maxGridImages, maxListedImages);
    }

    public CoordinatorSettings withTransactionalId(String id) {
        return new CoordinatorSettings(bootstrap, topics, keys, groupId, id, partitions, jobPartitions,
                createTopics, maxAttempts, reissueAfter, limits, kafka, recordLimits, window, maxGridImages,
                maxListedImages);
    }

    public CoordinatorSettings withLimits(Limits l) {
        return new CoordinatorSettings(bootstrap, topics, keys, groupId, transactionalId, partitions, jobPartitions,
                createTopics, maxAttempts, reissueAfter, l, kafka, recordLimits, window, maxGridImages, maxListedImages);
    }

    public CoordinatorSettings withRecordLimits(RecordLimits r) {
        return new CoordinatorSettings(bootstrap, topics, keys, groupId, transactionalId, partitions, jobPartitions,
                createTopics, maxAttempts, reissueAfter, limits, kafka, r, window, maxGridImages, maxListedImages);
    }

    public CoordinatorSettings withKafka(Map<String, String> k) {
        return new CoordinatorSettings(bootstrap, topics, keys, groupId, transactionalId, partitions, jobPartitions,
                createTopics, maxAttempts, reissueAfter, limits, k, recordLimits, window, maxGridImages, maxListedImages);
    }

    public CoordinatorSettings withWindow(int w) {
        return new CoordinatorSettings(bootstrap, topics, keys, groupId, transactionalId, partitions, jobPartitions,
                createTopics, maxAttempts, reissueAfter, limits, kafka, recordLimits, w, maxGridImages, maxListedImages);
    }

    public CoordinatorSettings withMaxGridImages(int n) {
        return new CoordinatorSettings(bootstrap, topics, keys, groupId, transactionalId, partitions, jobPartitions,
                createTopics, maxAttempts, reissueAfter, limits, kafka, recordLimits, window, n, maxListedImages);
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
