package io.latentfarm.coordinator;

import io.latentfarm.common.BatchIds;
import io.latentfarm.common.Topics;
import io.latentfarm.common.image.Grid;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.CancelRequest;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.MessageDecodeException;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.RenderResult;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.common.storage.ObjectStore;
import io.latentfarm.common.validation.RequestValidator;
import io.latentfarm.common.validation.Violation;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The coordinator: takes requests and results, and turns them into jobs, events, objects and state.
 *
 * <h2>State that survives a restart, and exactly one {@code completed}</h2>
 * One consume-transform-produce loop over the requests and results topics with a transactional
 * producer (exactly-once v2, KIP-447). Everything one poll causes (accepted/rejected/progress/
 * completed events, jobs, dead letters, the new {@link BatchState} of each batch touched, written
 * to the compacted state topic) and the consumed offsets ({@code sendOffsetsToTransaction}) commit
 * in one transaction, or none of it does. In-memory state changes only after the commit. A
 * coordinator that starts (or is assigned partitions) rebuilds the batches of its partitions by
 * reading the state topic's same partitions to their end with {@code read_committed}; that state
 * matches its committed offsets exactly, so a result is never counted twice or lost, and a batch
 * is completed in exactly one committed transaction. Readers of the events topic use
 * {@code isolation.level=read_committed} to see exactly that.
 *
 * <p>Why this and not Kafka Streams: the work per record is mostly I/O against the object store
 * (reading images, writing the grid and manifest) and timer-driven re-issues, which are plain code
 * here; the state is one small JSON document per batch; and the same loop is easy to run inside
 * {@code latentfarm local}. The price is doing by hand what Streams does: partition-scoped state
 * rebuilt on assignment, which works because requests, results and state are co-partitioned by
 * batch id (same partition count, range assignment of the same partition numbers). A request that
 * arrives on another partition than its batch id's (no key, or another key) is forwarded to its
 * home partition first.
 *
 * <p>Grid and manifest are uploaded before the transaction that records the completion commits; a
 * retry after a failure rewrites them (the grid with the same bytes).
 *
 * <h2>Cancelling</h2>
 * A {@link CancelRequest} on the requests topic (told apart by its {@code type}) for a running batch
 * marks its state cancelled, emits its one {@code cancelled} event and writes that event to the
 * compacted cancels topic, from which workers learn to skip the batch's jobs, all in the same
 * transaction as everything else. A batch not running takes no more results, re-issues or
 * events, so it is never completed afterwards. A cancel that cannot apply (no such batch, or one
 * already completed, failed or cancelled) gets a {@code rejected} event saying so.
 */
public final class Coordinator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Coordinator.class);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final long TICK_MS = 1000;
    private static final Duration RETRY_BACKOFF = Duration.ofSeconds(1);

    private final CoordinatorSettings settings;
    private final Topics topics;
    private final ObjectKeys keys;
    private final ObjectStore store;
    private final RequestValidator validator;
    private final Map<String, BatchState> batches = new ConcurrentHashMap<>();
    private final Set<Integer> ownedPartitions = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final SecureRandom random = new SecureRandom();
    private final Thread thread;
    private volatile boolean running;
    private volatile Throwable failure;
    private volatile CrashPoint crashPoint;

    private KafkaConsumer<String, byte[]> consumer;
    private KafkaProducer<String, byte[]> producer;
    private int partitions;
    private int jobPartitions;
    private long nextTick;

    public Coordinator(CoordinatorSettings settings, ObjectStore store) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.topics = settings.topics();
        this.keys = settings.keys();
        this.store = Objects.requireNonNull(store, "store");
        this.validator = new RequestValidator(settings.limits());
        this.thread = new Thread(this::run, "latentfarm-coordinator");
    }

    /**
     * Creates missing topics, fences any previous instance with this transactional id (aborting
     * its open transaction), joins the group and starts the loop. Returns once the clients are up.
     */
    public synchronized Coordinator start() {
        if (thread.isAlive() || running) {
            throw new IllegalStateException("already started");
        }
        try (Admin admin = Admin.create(adminConfig())) {
            partitions = settings.createTopics()
                    ? TopicSetup.ensure(admin, topics, settings.partitions(), settings.jobPartitions(), (short) 0)
                    : describePartitions(admin, topics.requests());
            jobPartitions = describePartitions(admin, topics.jobs());
            if (!settings.createTopics()) {
                describePartitions(admin, topics.cancels()); // fail now, not at the first cancel
            }
        }
        producer = new KafkaProducer<>(producerConfig(), new StringSerializer(), new ByteArraySerializer());
        producer.initTransactions();
        consumer = new KafkaConsumer<>(consumerConfig(), new StringDeserializer(), new ByteArrayDeserializer());
        running = true;
        thread.start();
        return this;
    }

    private Map<String, Object> adminConfig() {
        Map<String, Object> c = new HashMap<>(settings.kafka());
        c.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        return c;
    }

    private Map<String, Object> producerConfig() {
        Map<String, Object> c = new HashMap<>(settings.kafka());
        c.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        c.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, settings.transactionalId());
        c.put(ProducerConfig.CLIENT_ID_CONFIG, settings.transactionalId());
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        c.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        return c;
    }

    private Map<String, Object> consumerConfig() {
        Map<String, Object> c = new HashMap<>(settings.kafka());
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        c.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupId());
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, settings.transactionalId());
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // Range assignment gives one member the same partition numbers of requests and results.
        c.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, RangeAssignor.class.getName());
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 100);
        return c;
    }

    private static int describePartitions(Admin admin, String topic) {
        try {
            return admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS)
                    .get(topic).partitions().size();
        } catch (Exception e) {
            throw new IllegalStateException("cannot describe topic " + topic + ": " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- queries (any thread)

    /** The batch's state, if this coordinator owns it. */
    public Optional<BatchState> batch(String batchId) {
        return Optional.ofNullable(batches.get(batchId));
    }

    /** Batches this coordinator owns that are still running. */
    public long runningBatches() {
        return batches.values().stream().filter(BatchState::isRunning).count();
    }

    public boolean isRunning() {
        return running;
    }

    /** Partitions of the requests topic this instance owns now. */
    public Set<Integer> ownedPartitions() {
        return Set.copyOf(ownedPartitions);
    }

    /** Why the loop stopped, if it stopped on its own. */
    public Throwable failure() {
        return failure;
    }

    public CoordinatorSettings settings() {
        return settings;
    }

    // ---------------------------------------------------------------- the loop

    private void run() {
        try {
            consumer.subscribe(List.of(topics.requests(), topics.results()), new Rebalance());
            while (!stopping.get()) {
                ConsumerRecords<String, byte[]> records = consumer.poll(POLL);
                long now = System.currentTimeMillis();
                boolean tick = now >= nextTick;
                if (tick) {
                    nextTick = now + TICK_MS;
                }
                if (records.isEmpty() && !(tick && anyOverdue(now))) {
                    continue;
                }
                try {
                    transact(records, tick);
                } catch (SimulatedCrash e) {
                    throw e;
                } catch (ProducerFencedException | FencedInstanceIdException | OutOfOrderSequenceException
                         | AuthorizationException | UnsupportedVersionException e) {
                    throw e; // fatal for this producer: another instance took over, or we may not write
                } catch (RuntimeException e) {
                    LOG.warn("coordinator: transaction aborted, retrying: {}", e.toString(), e);
                    abortQuietly();
                    rewindToCommitted();
                    sleep(RETRY_BACKOFF);
                }
            }
            closeClients(Duration.ofSeconds(5));
        } catch (SimulatedCrash e) {
            LOG.warn("coordinator: simulated crash at {}", e.getMessage());
            closeClients(Duration.ZERO);
        } catch (Throwable t) {
            failure = t;
            LOG.error("coordinator stopped: {}", t.toString(), t);
            closeClients(Duration.ZERO);
        } finally {
            running = false;
            stopped.countDown();
        }
    }

    /** One transaction: the records' effects, overdue re-issues, the consumed offsets. */
    private void transact(ConsumerRecords<String, byte[]> records, boolean tick) {
        Tx tx = new Tx();
        producer.beginTransaction();
        for (ConsumerRecord<String, byte[]> record : records) {
            if (record.topic().equals(topics.requests())) {
                onRequest(tx, record);
            } else {
                onResult(tx, record);
            }
        }
        if (tick) {
            reissueOverdue(tx, System.currentTimeMillis());
        }
        for (BatchState state : tx.changed.values()) {
            producer.send(new ProducerRecord<>(topics.batchState(), Partitions.of(state.batchId(), partitions),
                    state.batchId(), Json.toBytes(state)));
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition tp : records.partitions()) {
            List<ConsumerRecord<String, byte[]>> list = records.records(tp);
            offsets.put(tp, new OffsetAndMetadata(list.get(list.size() - 1).offset() + 1));
        }
        if (!offsets.isEmpty()) {
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
        }
        CrashPoint crash = crashPoint;
        if (crash != null && crash.crashBeforeCommit(tx.completed)) {
            producer.flush(); // the writes reach the broker, the commit never comes
            throw new SimulatedCrash("before committing " + tx.completed);
        }
        producer.commitTransaction();
        batches.putAll(tx.changed);
        for (String id : tx.completed) {
            LOG.info("coordinator: batch {} completed", id);
        }
    }

    private boolean anyOverdue(long now) {
        long limit = settings.reissueAfter().toMillis();
        for (BatchState s : batches.values()) {
            if (s.isRunning() && now - s.lastProgressAt() >= limit) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- requests

    private void onRequest(Tx tx, ConsumerRecord<String, byte[]> record) {
        String keyId = BatchIds.isValid(record.key()) ? record.key() : null;
        String type = Json.requestType(record.value());
        if (CancelRequest.TYPE.equals(type)) {
            onCancel(tx, record, keyId);
            return;
        }
        if (type != null && !RenderRequest.TYPE.equals(type)) {
            String message = "unknown request type \"" + type + "\"; expected \"" + RenderRequest.TYPE
                    + "\" (or none) or \"" + CancelRequest.TYPE + "\"";
            LOG.info("coordinator: request {} of unknown type: {}", describe(record), type);
            reject(tx, keyId, List.of(new Violation("type", message)));
            deadLetter(record, "type: " + message);
            return;
        }
        RenderRequest request;
        try {
            request = Json.renderRequest(record.value());
        } catch (MessageDecodeException | IllegalArgumentException e) {
            rejectUndecodable(tx, record, keyId, e);
            return;
        }
        String batchId = request.batchId() != null ? request.batchId() : keyId != null ? keyId : BatchIds.newId();
        if (request.batchId() == null && BatchIds.isValid(batchId)) {
            request = request.withBatchId(batchId);
        }
        List<Violation> violations = validator.validate(request);
        if (!violations.isEmpty()) {
            LOG.info("coordinator: rejected request {}: {}", describe(record), violations);
            reject(tx, BatchIds.isValid(batchId) ? batchId : keyId, violations);
            return;
        }
        int home = Partitions.of(batchId, partitions);
        if (record.partition() != home) {
            // The batch's results and state live on its home partition: process it there.
            producer.send(new ProducerRecord<>(topics.requests(), home, batchId, Json.toBytes(request)));
            return;
        }
        BatchState existing = tx.get(batchId);
        if (existing != null) {
            RenderRequest asSent = request.seed() == null ? request.withSeed(existing.request().seed()) : request;
            if (asSent.equals(existing.request())) {
                LOG.info("coordinator: duplicate request for batch {} ignored", batchId);
            } else {
                reject(tx, batchId, List.of(new Violation("batchId", "\"" + batchId + "\" is already used by another batch")));
            }
            return;
        }
        if (request.seed() == null) {
            request = request.withSeed(random.nextLong() & 0xffff_ffffL);
        }
        long now = System.currentTimeMillis();
        BatchState state = BatchState.accepted(request, now);
        event(BatchEvent.accepted(request, null));
        for (int i = 0; i < request.imageCount(); i++) {
            sendJob(RenderJob.forImage(request, i, keys.image(batchId, i)));
        }
        tx.put(state);
        LOG.info("coordinator: accepted batch {} ({} images)", batchId, request.imageCount());
    }

    private void rejectUndecodable(Tx tx, ConsumerRecord<String, byte[]> record, String keyId, RuntimeException e) {
        String field = e instanceof MessageDecodeException d && d.field() != null ? d.field() : "request";
        String message = e instanceof MessageDecodeException d && d.field() != null
                ? e.getMessage().substring(d.field().length() + 2) : e.getMessage();
        LOG.info("coordinator: undecodable request {}: {}", describe(record), e.getMessage());
        reject(tx, keyId, List.of(new Violation(field, message)));
        deadLetter(record, e.getMessage());
    }

    /**
     * A running batch becomes cancelled: its state, its {@code cancelled} event and the record on
     * the cancels topic (for the workers) join this transaction. Anything else is answered with a
     * {@code rejected} event naming the field.
     */
    private void onCancel(Tx tx, ConsumerRecord<String, byte[]> record, String keyId) {
        CancelRequest cancel;
        try {
            cancel = Json.cancelRequest(record.value());
        } catch (MessageDecodeException | IllegalArgumentException e) {
            rejectUndecodable(tx, record, keyId, e);
            return;
        }
        String batchId = cancel.batchId() != null ? cancel.batchId() : keyId;
        List<Violation> violations = new ArrayList<>();
        if (batchId == null) {
            violations.add(new Violation("batchId", "is required (in the message, or as the record key)"));
        } else if (!BatchIds.isValid(batchId)) {
            violations.add(new Violation("batchId", "\"" + batchId + "\" must be 1 to 64 of A-Z a-z 0-9 _ -"));
        }
        if (cancel.reason() != null && cancel.reason().length() > CancelRequest.MAX_REASON) {
            violations.add(new Violation("reason", cancel.reason().length() + " characters; at most "
                    + CancelRequest.MAX_REASON));
        }
        if (!violations.isEmpty()) {
            LOG.info("coordinator: rejected cancel {}: {}", describe(record), violations);
            reject(tx, BatchIds.isValid(batchId) ? batchId : keyId, violations);
            return;
        }
        int home = Partitions.of(batchId, partitions);
        if (record.partition() != home) {
            // Only the owner of the batch's home partition knows its state.
            producer.send(new ProducerRecord<>(topics.requests(), home, batchId,
                    Json.toBytes(cancel.withBatchId(batchId))));
            return;
        }
        BatchState state = tx.get(batchId);
        if (state == null || !state.isRunning()) {
            String why = state == null ? "no batch \"" + batchId + "\" to cancel (none was accepted with this id)"
                    : "batch \"" + batchId + "\" is already " + state.status().name().toLowerCase(Locale.ROOT)
                    + "; only a running batch can be cancelled";
            LOG.info("coordinator: cancel refused: {}", why);
            reject(tx, batchId, List.of(new Violation("batchId", why)));
            return;
        }
        String reason = cancel.reasonOrDefault();
        BatchEvent cancelled = BatchEvent.cancelled(batchId, reason);
        event(cancelled);
        producer.send(new ProducerRecord<>(topics.cancels(), batchId, Json.toBytes(cancelled)));
        tx.put(state.cancelled(System.currentTimeMillis(), reason));
        LOG.info("coordinator: cancelled batch {} ({} of {} images in): {}", batchId, state.done(), state.total(),
                reason);
    }

    private void reject(Tx tx, String batchId, List<Violation> violations) {
        event(BatchEvent.rejected(batchId, violations));
    }

    /** Jobs of a batch go round-robin over the jobs partitions, so every worker of the group gets some. */
    private void sendJob(RenderJob job) {
        int partition = (Partitions.of(job.batchId(), jobPartitions) + job.index()) % jobPartitions;
        producer.send(new ProducerRecord<>(topics.jobs(), partition, job.jobId(), Json.toBytes(job)));
    }

    private void event(BatchEvent event) {
        producer.send(new ProducerRecord<>(topics.events(), event.batchId(), Json.toBytes(event)));
    }

    // ---------------------------------------------------------------- results

    private void onResult(Tx tx, ConsumerRecord<String, byte[]> record) {
        RenderResult result;
        try {
            result = Json.renderResult(record.value());
        } catch (MessageDecodeException | IllegalArgumentException e) {
            LOG.warn("coordinator: undecodable result {}: {}", describe(record), e.getMessage());
            deadLetter(record, e.getMessage());
            return;
        }
        BatchState state = tx.get(result.batchId());
        if (state == null) {
            LOG.warn("coordinator: result for unknown batch {} ignored", result.batchId());
            return;
        }
        int index = result.index();
        if (!state.isRunning() || index < 0 || index >= state.total() || state.images().get(index) != null) {
            return; // late, duplicate (a job that ran twice), or out of range
        }
        long now = System.currentTimeMillis();
        if (result.isRendered()) {
            String expectedKey = keys.image(state.batchId(), index);
            if (!expectedKey.equals(result.objectKey())) {
                LOG.warn("coordinator: result for {} names key {}, expected {}; using the expected key",
                        result.jobId(), result.objectKey(), expectedKey);
            }
            state = state.withImage(index, new BatchState.Image(expectedKey, result.workerId(), result.attempt(),
                    result.model(), result.timings(), now, result.warnings(), result.device(), result.dtype()), now);
            if (state.done() == state.total()) {
                state = complete(tx, state, now);
            } else {
                event(BatchEvent.progress(state.batchId(), state.done(), state.total(), result.warnings()));
            }
            tx.put(state);
            return;
        }
        int current = state.attempts().get(index);
        if (result.attempt() < current) {
            return; // a failure of an attempt already superseded
        }
        RenderJob job = RenderJob.forImage(state.request(), index, keys.image(state.batchId(), index))
                .withAttempt(result.attempt());
        if (result.attempt() < settings.maxAttempts()) {
            LOG.info("coordinator: {} attempt {} failed ({}); re-issuing", result.jobId(), result.attempt(), result.reason());
            sendJob(job.withAttempt(result.attempt() + 1));
            tx.put(state.withAttempt(index, result.attempt() + 1, now));
        } else {
            String reason = "image " + index + " failed after " + result.attempt() + " attempts: " + result.reason();
            deadLetterJob(job, reason);
            event(BatchEvent.failed(state.batchId(), reason));
            tx.put(state.failed(now, reason));
            LOG.warn("coordinator: batch {} failed: {}", state.batchId(), reason);
        }
    }

    /** Composes and uploads grid and manifest; the completed event joins the transaction. */
    private BatchState complete(Tx tx, BatchState state, long now) {
        RenderRequest request = state.request();
        List<RgbImage> images = new ArrayList<>();
        List<String> imageKeys = new ArrayList<>();
        for (BatchState.Image image : state.images()) {
            images.add(Png.decode(store.get(image.objectKey())));
            imageKeys.add(image.objectKey());
        }
        String gridKey = keys.grid(state.batchId());
        String manifestKey = keys.manifest(state.batchId());
        store.put(gridKey, Png.encode(Grid.compose(images, request.gridRows(), request.gridCols())), "image/png");
        BatchState done = state.completed(now, store.bucket(), gridKey, manifestKey);
        store.put(manifestKey, Json.toPrettyBytes(Manifest.of(done)), "application/json");
        event(BatchEvent.completed(state.batchId(), store.bucket(), imageKeys, gridKey, manifestKey, done.warnings()));
        tx.completed.add(state.batchId());
        return done;
    }

    // ---------------------------------------------------------------- deadlines

    private void reissueOverdue(Tx tx, long now) {
        long limit = settings.reissueAfter().toMillis();
        for (BatchState s : batches.values()) {
            BatchState state = tx.get(s.batchId());
            if (state == null || !state.isRunning() || now - state.lastProgressAt() < limit) {
                continue;
            }
            List<Integer> missing = state.missing();
            int worst = missing.stream().mapToInt(i -> state.attempts().get(i)).max().orElse(0);
            if (worst >= settings.maxAttempts()) {
                String reason = "no result for image(s) " + missing + " after " + worst + " attempts";
                for (int i : missing) {
                    deadLetterJob(RenderJob.forImage(state.request(), i, keys.image(state.batchId(), i))
                            .withAttempt(state.attempts().get(i)), reason);
                }
                event(BatchEvent.failed(state.batchId(), reason));
                tx.put(state.failed(now, reason));
                LOG.warn("coordinator: batch {} failed: {}", state.batchId(), reason);
                continue;
            }
            BatchState next = state;
            for (int i : missing) {
                int attempt = state.attempts().get(i) + 1;
                sendJob(RenderJob.forImage(state.request(), i, keys.image(state.batchId(), i)).withAttempt(attempt));
                next = next.withAttempt(i, attempt, now);
            }
            LOG.info("coordinator: batch {} had no result for {}; re-issued images {}", state.batchId(),
                    settings.reissueAfter(), missing);
            tx.put(next);
        }
    }

    // ---------------------------------------------------------------- dead letters

    private void deadLetter(ConsumerRecord<String, byte[]> record, String error) {
        RecordHeaders headers = new RecordHeaders();
        headers.add("latentfarm.error", utf8(String.valueOf(error)));
        headers.add("latentfarm.source", utf8(describe(record)));
        producer.send(new ProducerRecord<>(topics.jobsDlq(), null, record.key(), record.value(), headers));
    }

    private void deadLetterJob(RenderJob job, String error) {
        RecordHeaders headers = new RecordHeaders();
        headers.add("latentfarm.error", utf8(error));
        headers.add("latentfarm.source", utf8(topics.jobs()));
        producer.send(new ProducerRecord<>(topics.jobsDlq(), null, job.jobId(), Json.toBytes(job), headers));
    }

    private static String describe(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- partitions and state

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
            Set<Integer> gone = new HashSet<>();
            for (TopicPartition tp : revoked) {
                if (tp.topic().equals(topics.requests())) {
                    gone.add(tp.partition());
                }
            }
            ownedPartitions.removeAll(gone);
            batches.keySet().removeIf(id -> gone.contains(Partitions.of(id, partitions)));
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> lost) {
            onPartitionsRevoked(lost);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
            Set<Integer> fresh = new HashSet<>();
            for (TopicPartition tp : assigned) {
                if (tp.topic().equals(topics.requests())) {
                    fresh.add(tp.partition());
                }
            }
            if (!fresh.isEmpty()) {
                Map<String, BatchState> rebuilt = StateReader.read(settings, topics.batchState(), fresh);
                batches.putAll(rebuilt);
                ownedPartitions.addAll(fresh);
                LOG.info("coordinator: owns partitions {}; rebuilt {} batches ({} running)", fresh, rebuilt.size(),
                        rebuilt.values().stream().filter(BatchState::isRunning).count());
            }
        }
    }

    private void rewindToCommitted() {
        Set<TopicPartition> assignment = consumer.assignment();
        if (assignment.isEmpty()) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assignment);
        for (TopicPartition tp : assignment) {
            OffsetAndMetadata at = committed.get(tp);
            if (at == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                consumer.seek(tp, at);
            }
        }
    }

    private void abortQuietly() {
        try {
            producer.abortTransaction();
        } catch (RuntimeException e) {
            LOG.warn("coordinator: abort failed: {}", e.toString());
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void closeClients(Duration timeout) {
        try {
            consumer.close(timeout);
        } catch (RuntimeException e) {
            LOG.debug("closing consumer: {}", e.toString());
        }
        try {
            producer.close(timeout);
        } catch (RuntimeException e) {
            LOG.debug("closing producer: {}", e.toString());
        }
    }

    /** Finishes the transaction in progress, leaves the group and closes the clients. */
    @Override
    public void close() {
        stopping.set(true);
        if (thread.isAlive()) {
            try {
                stopped.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else if (consumer != null && running) {
            closeClients(Duration.ZERO);
        }
    }

    // ---------------------------------------------------------------- test support

    /** Decides, before each commit, whether to die there as a killed process would (tests only). */
    @FunctionalInterface
    public interface CrashPoint {
        /** @param completing batch ids whose completion the transaction would commit */
        boolean crashBeforeCommit(Set<String> completing);
    }

    /**
     * Makes the loop stop abruptly before a commit the point chooses: the open transaction is
     * neither committed nor aborted and the clients are dropped, as when the process is killed.
     */
    public void crashPointForTesting(CrashPoint point) {
        this.crashPoint = point;
    }

    private static final class SimulatedCrash extends RuntimeException {
        SimulatedCrash(String where) {
            super(where, null, false, false);
        }
    }

    /** The states one transaction changes; applied to the map only after it commits. */
    private final class Tx {
        final Map<String, BatchState> changed = new LinkedHashMap<>();
        final Set<String> completed = new java.util.LinkedHashSet<>();

        BatchState get(String batchId) {
            BatchState s = changed.get(batchId);
            return s != null ? s : batches.get(batchId);
        }

        void put(BatchState state) {
            changed.put(state.batchId(), state);
        }
    }
}
