package io.latentfarm.coordinator;

import io.latentfarm.client.kafka.Partitions;
import io.latentfarm.common.BatchIds;
import io.latentfarm.common.Excerpt;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.CancelRequest;
import io.latentfarm.client.kafka.DeadLetters;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.MessageDecodeException;
import io.latentfarm.common.message.RecordLimits;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.spec.PromptFile;
import io.latentfarm.common.message.RenderResult;
import io.latentfarm.client.storage.ObjectNotFoundException;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.common.validation.RequestValidator;
import io.latentfarm.common.validation.Violation;
import org.apache.kafka.clients.admin.Admin;
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
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.io.InputStream;
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
 * <h2>One transactional loop around a pure state machine</h2>
 * One consume-transform-produce loop over the requests and results topics with a transactional
 * producer (exactly-once v2, KIP-447). Each poll is one transaction: the records are decoded and
 * handed to {@link BatchMachine} (the batch lifecycle as plain functions); what it returns (events,
 * jobs, dead letters, one {@link ImageRecord} per image in, on the batch-images topic, and the new
 * {@link BatchSummary} of each batch touched, on the compacted state topic) and the consumed
 * offsets ({@code sendOffsetsToTransaction}) commit together, or none of it does. In-memory state
 * changes only after the commit. A coordinator that starts (or is assigned partitions) rebuilds
 * the summaries of its partitions by reading the state topic's same partitions with
 * {@code read_committed}: one small record per batch, whatever its size, matching the committed
 * offsets exactly, so a result is never counted twice or lost, and a batch is completed in exactly
 * one committed transaction. Readers of the events topic use {@code read_committed} to see exactly that.
 *
 * <h2>Windowed, fair fan-out</h2>
 * A batch's jobs are not all sent at acceptance: each running batch has at most {@code window}
 * jobs outstanding, read in index order from its {@link ImageSource}, and more are released as its
 * results come in, round-robin over the running batches with higher priority first
 * ({@link BatchMachine#fanOut}). A small batch submitted behind a large one thus queues behind at
 * most a window of the other's jobs, and a cancelled batch has at most a window left to skip.
 *
 * <p>Why this and not Kafka Streams: the work per record is mostly I/O against the object store
 * (the grid and manifest) and timer-driven re-issues, which are plain code here, and the same loop
 * is easy to run inside {@code latentfarm local}. The price is doing by hand what Streams does:
 * partition-scoped state rebuilt on assignment, which works because requests, results, summaries
 * and image records are co-partitioned by batch id (same partition count, range assignment of the
 * same partition numbers). A request that arrives on another partition than its batch id's (no
 * key, or another key) is forwarded to its home partition first.
 *
 * <p>Grid and manifest ({@link BatchAssembler}) are uploaded before the transaction that records the
 * completion commits; a retry after a failure rewrites them.
 *
 * <h2>Cancelling</h2>
 * A {@link CancelRequest} on the requests topic (told apart by its {@code type}) for a running batch
 * marks it cancelled, emits its one {@code cancelled} event and writes that event to the compacted
 * cancels topic, from which workers learn to skip the batch's jobs, all in the same transaction as
 * everything else. A batch not running takes no more results, releases, re-issues or events, so
 * it is never completed afterwards. A cancel that cannot apply (no such batch, or one already
 * completed, failed or cancelled) gets a {@code rejected} event saying so.
 */
public class Coordinator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Coordinator.class);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final long TICK_MS = 1000;
    private static final Duration RETRY_BACKOFF = Duration.ofSeconds(1);
    /** Image records kept in memory for the web page's thumbnails (the manifest has them all). */
    private static final int RECENT_IMAGES = 4096;

    private final CoordinatorSettings settings;
    private final Topics topics;
    private final ObjectStore store;
    private final RequestValidator validator;
    private final BatchMachine.Rules rules;
    private final ImageSources imageSources;
    private final Map<String, BatchSummary> batches = new ConcurrentHashMap<>();
    /** Batches running, in acceptance order (loop thread only). */
    private final Set<String> running = new java.util.LinkedHashSet<>();
    /** The open image sources of running batches (loop thread only). */
    private final Map<String, ImageSource> sources = new HashMap<>();
    private final Map<String, ImageRecord> recentImages = java.util.Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, ImageRecord> eldest) {
                    return size() > RECENT_IMAGES;
                }
            });
    private final Set<Integer> ownedPartitions = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final SecureRandom random = new SecureRandom();
    private final Thread thread;
    private volatile boolean loopRunning;
    private volatile Throwable failure;

    private KafkaConsumer<String, byte[]> consumer;
    private KafkaProducer<String, byte[]> producer;
    private int partitions;
    private int jobPartitions;
    private BatchAssembler assembler;
    private long nextTick;
    /** The first failure of a send in the open transaction (set on the producer's thread). */
    private volatile RuntimeException sendFailure;

    public Coordinator(CoordinatorSettings settings, ObjectStore store) {
        this(settings, store, ImageSources.of(settings.keys(), store));
    }

    /** @param imageSources where each accepted request's images come from */
    public Coordinator(CoordinatorSettings settings, ObjectStore store, ImageSources imageSources) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.topics = settings.topics();
        this.store = Objects.requireNonNull(store, "store");
        this.validator = new RequestValidator(settings.limits());
        this.rules = settings.rules();
        this.imageSources = Objects.requireNonNull(imageSources, "imageSources");
        this.thread = new Thread(this::run, "latentfarm-coordinator");
    }

    /**
     * Creates missing topics, fences any previous instance with this transactional id (aborting
     * its open transaction), joins the group and starts the loop. Returns once the clients are up.
     */
    public synchronized Coordinator start() {
        if (thread.isAlive() || loopRunning) {
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
        settings.recordLimits().checkFits(producerConfig());
        producer = newProducer();
        consumer = new KafkaConsumer<>(consumerConfig(), new StringDeserializer(), new ByteArrayDeserializer());
        assembler = new BatchAssembler(settings, store, partitions);
        loopRunning = true;
        thread.start();
        return this;
    }

    private Map<String, Object> adminConfig() {
        return settings.clientProperties().admin();
    }

    /** A transactional producer, initialised: fences any previous producer with this transactional id. */
    private KafkaProducer<String, byte[]> newProducer() {
        KafkaProducer<String, byte[]> p = new KafkaProducer<>(producerConfig(), new StringSerializer(),
                new ByteArraySerializer());
        try {
            p.initTransactions();
        } catch (RuntimeException e) {
            p.close(Duration.ZERO);
            throw e;
        }
        return p;
    }

    private Map<String, Object> producerConfig() {
        Map<String, Object> c = settings.clientProperties().transactionalProducer(settings.transactionalId());
        // A completion writes a batch's manifest inside its transaction: for a 1,000,000-image
        // batch that is longer than Kafka's default 60 s (the broker allows up to 15 min).
        c.putIfAbsent(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 300_000);
        c.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 5);
        return c;
    }

    private Map<String, Object> consumerConfig() {
        Map<String, Object> c = settings.clientProperties().groupConsumer(settings.groupId(), settings.transactionalId());
        // A coordinator that dies hands its partitions over within 10 s (Kafka's default: 45 s).
        c.putIfAbsent(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        c.putIfAbsent(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 3_000);
        // Range assignment gives one member the same partition numbers of requests and results.
        c.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, RangeAssignor.class.getName());
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1000);
        return c;
    }

    private static int describePartitions(Admin admin, String topic) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS)
                        .get(topic).partitions().size();
            } catch (Exception e) {
                // A topic created a moment ago may not be in the broker's metadata yet.
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw new IllegalStateException("cannot describe topic " + topic + ": " + e.getMessage(), e);
                }
                sleep(Duration.ofMillis(100));
            }
        }
    }

    // ---------------------------------------------------------------- queries (any thread)

    /** The batch's summary, if this coordinator owns it. */
    public Optional<BatchSummary> batch(String batchId) {
        return Optional.ofNullable(batches.get(batchId));
    }

    /** Every batch this coordinator owns (of its partitions), in no particular order. */
    public List<BatchSummary> batches() {
        return List.copyOf(batches.values());
    }

    /** Batches this coordinator owns that are still running. */
    public long runningBatches() {
        return batches.values().stream().filter(BatchSummary::isRunning).count();
    }

    /**
     * Image {@code index}'s record, if the image is in and still among the last few thousand
     * images this coordinator counted (for the web page; {@code manifest.jsonl} has them all).
     */
    public Optional<ImageRecord> recentImage(String batchId, int index) {
        return Optional.ofNullable(recentImages.get(RenderJob.jobId(batchId, index)));
    }

    /**
     * Images {@code from} .. {@code to - 1} of a batch as the web page lists them: each one's job
     * and, once in, its key and (while among the recent ones) its record.
     */
    public List<Manifest.Image> images(BatchSummary s, int from, int to) {
        List<Manifest.Image> out = new ArrayList<>(Math.max(0, to - from));
        if (from >= to) {
            return out;
        }
        try (ImageSource source = imageSources.open(s.request(), s.total())) {
            SourceCursor cursor = source.find(from);
            for (int i = from; i < to; i++) {
                ImageSource.Read read = source.read(cursor);
                cursor = read.next();
                BatchSummary.InFlight flying = s.inFlight(i);
                out.add(Manifest.image(read.job(), recentImage(s.batchId(), i).orElse(null), s.isIn(i),
                        flying != null ? flying.attempt() : 0));
            }
        }
        return out;
    }

    /** Where image {@code index} of a batch is (or goes). */
    public String imageKey(BatchSummary s, int index) {
        BatchSummary.InFlight flying = s.inFlight(index);
        if (flying != null) {
            return flying.objectKey();
        }
        return recentImage(s.batchId(), index).map(ImageRecord::objectKey).orElseGet(() -> {
            try (ImageSource source = imageSources.open(s.request(), s.total())) {
                return source.read(source.find(index)).job().objectKey();
            }
        });
    }

    public boolean isRunning() {
        return loopRunning;
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
                if (records.isEmpty() && !(tick && anyToDo(now))) {
                    continue;
                }
                List<ConsumerRecord<String, byte[]>> list = new ArrayList<>(records.count());
                records.forEach(list::add);
                try {
                    transact(list, tick);
                } catch (AuthorizationException | UnsupportedVersionException e) {
                    throw e; // we may not write at all: stop and say so
                } catch (RuntimeException e) {
                    abortOrRecreate(e);
                    if (!list.isEmpty() && tiedToInput(e)) {
                        LOG.warn("coordinator: transaction of {} records aborted ({}); processing them one by one",
                                list.size(), Excerpt.cut(rootOf(e).toString()));
                        isolate(list);
                    } else {
                        LOG.warn("coordinator: transaction aborted, retrying: {}", Excerpt.cut(e.toString()), e);
                        rewindToCommitted();
                        sleep(RETRY_BACKOFF);
                    }
                }
            }
            closeClients(Duration.ofSeconds(5));
        } catch (Throwable t) {
            failure = t;
            LOG.error("coordinator stopped: {}", t.toString(), t);
            closeClients(Duration.ZERO);
        } finally {
            sources.values().forEach(ImageSource::close);
            sources.clear();
            loopRunning = false;
            stopped.countDown();
        }
    }

    /**
     * One transaction: the records' effects, overdue re-issues, the release of more jobs, the
     * completion of batches now complete, the summaries and image records, the consumed offsets.
     */
    private void transact(List<ConsumerRecord<String, byte[]>> records, boolean tick) {
        Tx tx = new Tx();
        sendFailure = null;
        producer.beginTransaction();
        for (ConsumerRecord<String, byte[]> record : records) {
            if (record.topic().equals(topics.requests())) {
                onRequest(tx, record);
            } else {
                onResult(tx, record);
            }
        }
        long now = System.currentTimeMillis();
        if (tick) {
            for (String id : running) {
                BatchSummary s = tx.get(id);
                if (BatchMachine.isOverdue(s, rules, now)) {
                    BatchSummary next = BatchMachine.reissueOverdue(s, source(s), rules, now, tx.out);
                    LOG.info("coordinator: batch {} had no result for {}; {}", id, settings.reissueAfter(),
                            next.isRunning() ? "re-issued its overdue images" : "failed: " + next.reason());
                    tx.put(next);
                }
            }
        }
        tx.changed.putAll(BatchMachine.fanOut(tx.running(), this::source, rules, now, tx.out));
        for (BatchSummary s : List.copyOf(tx.changed.values())) {
            if (BatchMachine.isComplete(s)) {
                BatchAssembler.Assembled a = assembler.assemble(s, source(s), tx.imagesOf(s.batchId()), now);
                tx.put(BatchMachine.complete(s, store.bucket(), a.gridKey(), a.manifestKey(), a.manifestLinesKey(),
                        a.imageKeys(), now, tx.out));
                tx.completed.add(s.batchId());
            }
        }
        write(tx);
        sendOffsets(records);
        beforeCommit(tx.completed, producer);
        producer.commitTransaction();
        if (sendFailure != null) {
            throw sendFailure; // a failed send fails the commit; never apply state that was not written
        }
        apply(tx);
    }

    /** Everything the transaction's steps caused, in the order they caused it. */
    private void write(Tx tx) {
        BatchMachine.Effects out = tx.out;
        for (BatchEvent e : out.events) {
            event(e);
        }
        for (BatchEvent e : out.cancels) {
            send(new ProducerRecord<>(topics.cancels(), e.batchId(), Json.toBytes(e)));
        }
        for (RenderJob job : out.jobs) {
            sendJob(job);
        }
        for (BatchMachine.DeadJob dead : out.deadLetters) {
            deadLetterJob(dead.job(), dead.reason());
        }
        for (ImageRecord image : out.images) {
            send(new ProducerRecord<>(topics.batchImages(), Partitions.of(image.batchId(), partitions), image.key(),
                    Json.toBytes(image)));
        }
        for (BatchSummary s : tx.changed.values()) {
            send(new ProducerRecord<>(topics.batchState(), Partitions.of(s.batchId(), partitions), s.batchId(),
                    Json.toBytes(s)));
        }
    }

    /** A committed transaction's state becomes the coordinator's. */
    private void apply(Tx tx) {
        batches.putAll(tx.changed);
        for (BatchSummary s : tx.changed.values()) {
            if (s.isRunning()) {
                running.add(s.batchId());
            } else if (running.remove(s.batchId())) {
                closeSource(s.batchId());
            }
        }
        for (ImageRecord image : tx.out.images) {
            recentImages.put(image.key(), image);
        }
        for (String id : tx.completed) {
            LOG.info("coordinator: batch {} completed", id);
        }
    }

    /** The open source of a batch's images (opened on first use, e.g. after a restart). */
    private ImageSource source(BatchSummary s) {
        return sources.computeIfAbsent(s.batchId(), id -> imageSources.open(s.request(), s.total()));
    }

    private void closeSource(String batchId) {
        ImageSource source = sources.remove(batchId);
        if (source != null) {
            source.close();
        }
    }

    /**
     * Called before each commit with the batches whose completion it would commit: a seam for
     * tests that stop here as a killed process would. Does nothing.
     */
    void beforeCommit(Set<String> completing, org.apache.kafka.clients.producer.Producer<String, byte[]> producer) {
    }

    private void sendOffsets(List<ConsumerRecord<String, byte[]>> records) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            offsets.merge(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1),
                    (a, b) -> a.offset() >= b.offset() ? a : b);
        }
        if (!offsets.isEmpty()) {
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
        }
    }

    /**
     * Sends within the open transaction. A record larger than {@link RecordLimits#maxRecordBytes()}
     * is never sent (the producer would refuse it and fail the whole transaction): the input that
     * caused it fails instead, and is dead-lettered alone.
     */
    private void send(ProducerRecord<String, byte[]> record) {
        if (!settings.recordLimits().fits(record.key(), record.value())) {
            throw new OversizedRecordException(record.topic() + " record of "
                    + RecordLimits.size(record.key(), record.value()) + " bytes is more than max-record-bytes "
                    + settings.recordLimits().maxRecordBytes());
        }
        producer.send(record, (metadata, e) -> {
            // a send that failed because the transaction was aborted is a consequence, not the cause
            if (e != null && sendFailure == null && !(e instanceof TransactionAbortedException)) {
                sendFailure = e instanceof RuntimeException r ? r : new KafkaException(e);
            }
        });
    }

    /**
     * The records of a failed transaction, each in a transaction of its own; one that fails again
     * for a reason tied to it is committed as a dead letter (and, a request, answered with
     * {@code rejected}), and the loop moves on. A failure of the infrastructure instead stops this
     * and the records from the first uncommitted one are polled again.
     */
    private void isolate(List<ConsumerRecord<String, byte[]>> records) {
        for (ConsumerRecord<String, byte[]> record : records) {
            if (stopping.get()) {
                rewindToCommitted();
                return;
            }
            try {
                transact(List.of(record), false);
                continue;
            } catch (AuthorizationException | UnsupportedVersionException e) {
                throw e;
            } catch (RuntimeException e) {
                Throwable root = rootOf(e);
                abortOrRecreate(e);
                if (!tiedToInput(e)) {
                    LOG.warn("coordinator: transaction aborted, retrying: {}", Excerpt.cut(e.toString()), e);
                    rewindToCommitted();
                    sleep(RETRY_BACKOFF);
                    return;
                }
                LOG.warn("coordinator: {} fails alone too ({}); dead-lettering it", describe(record),
                        Excerpt.cut(root.toString()));
                try {
                    deadLetterAlone(record, root);
                } catch (AuthorizationException | UnsupportedVersionException e2) {
                    throw e2;
                } catch (RuntimeException e2) {
                    abortOrRecreate(e2);
                    LOG.warn("coordinator: dead letter not written, retrying: {}", Excerpt.cut(e2.toString()), e2);
                    rewindToCommitted();
                    sleep(RETRY_BACKOFF);
                    return;
                }
            }
        }
    }

    /** One transaction: the record's dead letter (a request's also its {@code rejected}) and its offset. */
    private void deadLetterAlone(ConsumerRecord<String, byte[]> record, Throwable cause) {
        sendFailure = null;
        producer.beginTransaction();
        String why = "could not be processed: " + cause;
        deadLetter(record, why);
        String keyId = BatchIds.isValid(record.key()) ? record.key() : null;
        if (record.topic().equals(topics.requests()) && keyId != null) {
            reject(null, keyId, List.of(new Violation("request", why)));
        }
        sendOffsets(List.of(record));
        producer.commitTransaction();
        if (sendFailure != null) {
            throw sendFailure;
        }
    }

    /**
     * Whether a failure is the input's doing, so that retrying it can only fail again: a record
     * too large or unserializable, an input that is not a message, an image a result names that is
     * not there or not a PNG, or a plain programming error on the input's data. Not so: the broker
     * or the object store unavailable, timeouts, fencing.
     */
    private boolean tiedToInput(RuntimeException e) {
        for (Throwable t : List.of(e, sendFailure == null ? e : sendFailure)) {
            for (Throwable c = t; c != null; c = c.getCause()) {
                if (c instanceof RecordTooLargeException || c instanceof SerializationException
                        || c instanceof InvalidRecordException || c instanceof OversizedRecordException
                        || c instanceof MessageDecodeException || c instanceof ObjectNotFoundException) {
                    return true;
                }
            }
        }
        if (e instanceof IllegalArgumentException || e instanceof NullPointerException
                || e instanceof IndexOutOfBoundsException || e instanceof ArithmeticException
                || e instanceof ClassCastException || e instanceof UnsupportedOperationException) {
            return true; // our code on this input's data (e.g. an image that is not a PNG)
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof KafkaException || c instanceof java.io.IOException || c instanceof UncheckedIOException
                    || c instanceof SdkException) {
                return false;
            }
        }
        return e instanceof IllegalStateException;
    }

    /** The failure to report: a failed send's (the commit then only says the producer is in an error state). */
    private Throwable rootOf(RuntimeException e) {
        return sendFailure != null ? sendFailure : e;
    }

    /** Whether a running batch is overdue, or has room in its window for more jobs (e.g. after a restart). */
    private boolean anyToDo(long now) {
        for (String id : running) {
            BatchSummary s = batches.get(id);
            if (BatchMachine.isOverdue(s, rules, now) || BatchMachine.room(s, rules) > 0) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- requests

    private void onRequest(Tx tx, ConsumerRecord<String, byte[]> record) {
        String keyId = BatchIds.isValid(record.key()) ? record.key() : null;
        if (tooLarge(record)) {
            String message = record.value().length + " bytes is more than the " + settings.recordLimits().maxInputBytes()
                    + " a request may have (max-input-bytes)";
            LOG.info("coordinator: request {} too large: {}", describe(record), message);
            reject(tx, keyId, List.of(new Violation("request", message)));
            deadLetter(record, "request: " + message);
            return;
        }
        String type = Json.requestType(record.value());
        if (CancelRequest.TYPE.equals(type)) {
            onCancel(tx, record, keyId);
            return;
        }
        if (type != null && !RenderRequest.TYPE.equals(type)) {
            String message = "unknown request type " + Excerpt.quote(type) + "; expected \"" + RenderRequest.TYPE
                    + "\" (or none) or \"" + CancelRequest.TYPE + "\"";
            LOG.info("coordinator: request {} of unknown type: {}", describe(record), Excerpt.quote(type));
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
            send(new ProducerRecord<>(topics.requests(), home, batchId, Json.toBytes(request)));
            return;
        }
        BatchSummary existing = tx.get(batchId);
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
        int total = request.imageCount();
        if (request.promptsUri() != null) {
            PromptFile.Validation file = validatePromptFile(request);
            if (!file.valid()) {
                LOG.info("coordinator: rejected request {}: its prompt file: {}", describe(record), file.violations());
                reject(tx, batchId, file.violations().stream().map(v -> new Violation("promptsUri", v)).toList());
                return;
            }
            total = (int) file.images();
        }
        long now = System.currentTimeMillis();
        ImageSource source = imageSources.open(request, total);
        sources.put(batchId, source); // kept while the batch runs; dropped if this transaction aborts
        tx.put(BatchMachine.accept(request, source.total(), priorityOf(request), now, tx.out));
        LOG.info("coordinator: accepted batch {} ({} images)", batchId, source.total());
    }

    /**
     * Reads the request's prompt file once, checking every line before anything renders (a file of a
     * million lines takes seconds; the loop waits for it).
     */
    private PromptFile.Validation validatePromptFile(RenderRequest request) {
        PromptFile.Location at = PromptFile.Location.parse(request.promptsUri());
        if (!at.bucket().equals(store.bucket())) {
            return new PromptFile.Validation(List.of("bucket \"" + at.bucket() + "\" is not the cluster's bucket \""
                    + store.bucket() + "\""), 0, 0);
        }
        Optional<InputStream> in = store.stream(at.key());
        if (in.isEmpty()) {
            return new PromptFile.Validation(List.of("no object " + at.key() + " in bucket " + store.bucket()), 0, 0);
        }
        return PromptFile.validate(in.get(), at.format(), request.spec(), validator);
    }

    /** The request's priority: higher batches are released first. */
    private static int priorityOf(RenderRequest request) {
        return request.priority();
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
            violations.add(new Violation("batchId", Excerpt.quote(batchId) + " must be 1 to 64 of A-Z a-z 0-9 _ -"));
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
            send(new ProducerRecord<>(topics.requests(), home, batchId,
                    Json.toBytes(cancel.withBatchId(batchId))));
            return;
        }
        BatchSummary state = tx.get(batchId);
        if (state == null || !state.isRunning()) {
            String why = state == null ? "no batch \"" + batchId + "\" to cancel (none was accepted with this id)"
                    : "batch \"" + batchId + "\" is already " + state.status().name().toLowerCase(Locale.ROOT)
                    + "; only a running batch can be cancelled";
            LOG.info("coordinator: cancel refused: {}", why);
            reject(tx, batchId, List.of(new Violation("batchId", why)));
            return;
        }
        String reason = cancel.reasonOrDefault();
        tx.put(BatchMachine.cancel(state, reason, System.currentTimeMillis(), tx.out));
        LOG.info("coordinator: cancelled batch {} ({} of {} images in): {}", batchId, state.done(), state.total(),
                reason);
    }

    private void reject(Tx tx, String batchId, List<Violation> violations) {
        BatchEvent rejected = BatchEvent.rejected(batchId, violations);
        if (tx == null) {
            event(rejected);
        } else {
            tx.out.events.add(rejected); // in order with the transaction's other events
        }
    }

    /** Jobs of a batch go round-robin over the jobs partitions, so every worker of the group gets some. */
    private void sendJob(RenderJob job) {
        int partition = (Partitions.of(job.batchId(), jobPartitions) + job.index()) % jobPartitions;
        send(new ProducerRecord<>(topics.jobs(), partition, job.jobId(), Json.toBytes(job)));
    }

    private void event(BatchEvent event) {
        send(new ProducerRecord<>(topics.events(), event.batchId(), Json.toBytes(event)));
    }

    // ---------------------------------------------------------------- results

    private void onResult(Tx tx, ConsumerRecord<String, byte[]> record) {
        if (tooLarge(record)) {
            LOG.warn("coordinator: result {} of {} bytes is more than max-input-bytes", describe(record),
                    record.value().length);
            deadLetter(record, "result: " + record.value().length + " bytes is more than the "
                    + settings.recordLimits().maxInputBytes() + " a result may have (max-input-bytes)");
            return;
        }
        RenderResult result;
        try {
            result = Json.renderResult(record.value());
        } catch (MessageDecodeException | IllegalArgumentException e) {
            LOG.warn("coordinator: undecodable result {}: {}", describe(record), e.getMessage());
            deadLetter(record, e.getMessage());
            return;
        }
        BatchSummary state = tx.get(result.batchId());
        if (state == null) {
            LOG.warn("coordinator: result for unknown batch {} ignored", result.batchId());
            return;
        }
        if (!state.isRunning()) {
            return; // late: the batch is over
        }
        BatchSummary next = BatchMachine.onResult(state, result, source(state), rules, System.currentTimeMillis(),
                tx.out);
        if (next != state) {
            if (!result.isRendered()) {
                LOG.info("coordinator: {} attempt {} failed ({}); {}", result.jobId(), result.attempt(),
                        Excerpt.cut(result.reason()), next.isRunning() ? "re-issued" : "batch failed: " + next.reason());
            }
            tx.put(next);
        }
    }

    private boolean tooLarge(ConsumerRecord<String, byte[]> record) {
        return record.value() != null && record.value().length > settings.recordLimits().maxInputBytes();
    }

    // ---------------------------------------------------------------- dead letters

    private void deadLetter(ConsumerRecord<String, byte[]> record, String error) {
        send(DeadLetters.of(topics.jobsDlq(), record, error, settings.recordLimits()));
    }

    private void deadLetterJob(RenderJob job, String error) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(DeadLetters.ERROR, utf8(Excerpt.cut(error)));
        headers.add(DeadLetters.SOURCE, utf8(topics.jobs()));
        send(new ProducerRecord<>(topics.jobsDlq(), null, job.jobId(), Json.toBytes(job), headers));
    }

    private static String describe(ConsumerRecord<?, ?> record) {
        return DeadLetters.source(record);
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
            for (String id : List.copyOf(running)) {
                if (gone.contains(Partitions.of(id, partitions))) {
                    running.remove(id);
                    closeSource(id);
                }
            }
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
                long started = System.nanoTime();
                Map<String, BatchSummary> rebuilt = StateReader.read(settings, topics.batchState(), fresh);
                batches.putAll(rebuilt);
                rebuilt.values().stream().filter(BatchSummary::isRunning)
                        .sorted(java.util.Comparator.comparingLong(BatchSummary::acceptedAt))
                        .forEach(b -> running.add(b.batchId()));
                ownedPartitions.addAll(fresh);
                LOG.info("coordinator: owns partitions {}; rebuilt {} batches ({} running) in {} ms", fresh,
                        rebuilt.size(), rebuilt.values().stream().filter(BatchSummary::isRunning).count(),
                        (System.nanoTime() - started) / 1_000_000);
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

    /**
     * Ends a failed transaction: aborted, or, when the producer cannot abort (fenced after a
     * transaction timeout, or in a fatal state), replaced by a new one, which fences the old one and
     * aborts its transaction on the broker. The consumer then rewinds to the committed offsets.
     */
    private void abortOrRecreate(RuntimeException cause) {
        for (String id : List.copyOf(sources.keySet())) {
            if (!running.contains(id)) {
                closeSource(id); // a batch accepted in the aborted transaction
            }
        }
        if (!(cause instanceof ProducerFencedException || cause instanceof InvalidProducerEpochException
                || cause instanceof OutOfOrderSequenceException || cause instanceof FencedInstanceIdException)) {
            try {
                producer.abortTransaction();
                return;
            } catch (RuntimeException e) {
                LOG.warn("coordinator: abort failed ({}); starting a new producer", e.toString());
            }
        } else {
            LOG.warn("coordinator: producer fenced or failed ({}); starting a new producer", cause.toString());
        }
        try {
            producer.close(Duration.ZERO);
        } catch (RuntimeException e) {
            LOG.debug("closing producer: {}", e.toString());
        }
        while (!stopping.get()) {
            try {
                producer = newProducer();
                return;
            } catch (AuthorizationException | UnsupportedVersionException e) {
                throw e;
            } catch (RuntimeException e) {
                LOG.warn("coordinator: cannot start a producer yet: {}", e.toString());
                sleep(RETRY_BACKOFF);
            }
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
        if (assembler != null) {
            assembler.close();
        }
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
        } else if (consumer != null && loopRunning) {
            closeClients(Duration.ZERO);
        }
    }

    /** A record this coordinator would write is larger than max-record-bytes: the input is at fault. */
    private static final class OversizedRecordException extends RuntimeException {
        OversizedRecordException(String message) {
            super(message);
        }
    }

    /** What one transaction changes; applied to the coordinator only after it commits. */
    private final class Tx {
        final Map<String, BatchSummary> changed = new LinkedHashMap<>();
        final Set<String> completed = new java.util.LinkedHashSet<>();
        final BatchMachine.Effects out = new BatchMachine.Effects();

        BatchSummary get(String batchId) {
            BatchSummary s = changed.get(batchId);
            return s != null ? s : batches.get(batchId);
        }

        void put(BatchSummary state) {
            changed.put(state.batchId(), state);
        }

        /** The running batches as this transaction sees them. */
        List<BatchSummary> running() {
            List<BatchSummary> out = new ArrayList<>();
            for (String id : running) {
                BatchSummary s = get(id);
                if (s.isRunning()) {
                    out.add(s);
                }
            }
            for (BatchSummary s : changed.values()) {
                if (s.isRunning() && !running.contains(s.batchId())) {
                    out.add(s);
                }
            }
            return out;
        }

        List<ImageRecord> imagesOf(String batchId) {
            return this.out.images.stream().filter(i -> i.batchId().equals(batchId)).toList();
        }
    }
}
