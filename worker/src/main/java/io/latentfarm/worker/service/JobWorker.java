package io.latentfarm.worker.service;

import io.latentfarm.common.Excerpt;
import io.latentfarm.common.Topics;
import io.latentfarm.common.image.GenerationParameters;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.client.kafka.DeadLetters;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.MessageDecodeException;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderResult;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.common.validation.RequestValidator;
import io.latentfarm.common.validation.Violation;
import io.latentfarm.model.pipeline.InvalidJobException;
import io.latentfarm.model.pipeline.ProgressListener;
import io.latentfarm.model.pipeline.RenderedImage;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

/**
 * The job consumer: takes jobs from the jobs topic in a consumer group, renders them with one
 * loaded model, uploads each PNG, publishes its result, and only then commits the job's offset.
 * A worker killed at any point loses nothing: an uncommitted job runs again (here or elsewhere)
 * and overwrites the same key with the same bytes; the coordinator ignores the duplicate result.
 *
 * <h2>Staying in the group during a long render</h2>
 * Rendering runs on its own thread. Meanwhile the consumer thread keeps polling with every
 * assigned partition paused, so the group sees a live member however long a job takes (no
 * {@code max.poll.interval.ms} to size) and rebalances complete promptly. Records a poll returns
 * anyway (a partition assigned during the render) are handed back by seeking to them. A partition
 * revoked during the render is not committed: its job runs again on its new owner.
 *
 * <h2>Failures</h2>
 * <ul>
 *   <li>a record that is not a job to render (not a job, too large, another key, another object key
 *       than the one the worker builds from the job's ids, parameters beyond the limits): copied to
 *       the dead-letter topic with the reason ({@link DeadLetters}), committed; if the dead letter
 *       cannot be written, the poll is taken again after the backoff. Nothing stops the loop;</li>
 *   <li>the PNG cannot be encoded: a {@code failed} result, as when rendering throws;</li>
 *   <li>rendering throws: a {@code failed} result with the reason and attempt, committed (the
 *       coordinator re-issues it, and after its last attempt sends it to the dead-letter topic);</li>
 *   <li>the upload or the result cannot be written: nothing is committed, the consumer seeks back
 *       and tries again after {@link WorkerSettings#retryBackoff()}.</li>
 * </ul>
 * {@link #close()} lets a job in flight finish within {@link WorkerSettings#shutdownGrace()},
 * else abandons it uncommitted (handing it back to the group) and leaves the group.
 *
 * <h2>Cancelled batches</h2>
 * Jobs of batches on the cancels topic ({@link CancelledBatches}) are skipped: not rendered, no
 * result (the coordinator, which wrote the cancel in the same transaction as the batch's cancelled
 * state, takes none), committed. A render whose batch is cancelled meanwhile stops at its next
 * step, the same way. Before taking its first jobs a worker reads the cancels of before its start.
 */
public final class JobWorker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JobWorker.class);
    private static final Duration IDLE_POLL = Duration.ofMillis(500);
    private static final Duration BUSY_POLL = Duration.ofMillis(100);
    private static final Duration CANCELS_LOAD_WAIT = Duration.ofSeconds(30);

    private final WorkerSettings settings;
    private final Topics topics;
    private final ImageRenderer renderer;
    private final ObjectStore store;
    private final CancelledBatches cancelled;
    private final RequestValidator validator;
    private final KafkaConsumer<String, byte[]> consumer;
    private final KafkaProducer<String, byte[]> producer;
    private final ExecutorService renderThread;
    private final Thread consumerThread;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final AtomicBoolean abandon = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicReference<String> currentJob = new AtomicReference<>();
    private final AtomicLong rendered = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    private final Set<TopicPartition> assigned = new HashSet<>();
    private volatile boolean running;
    private volatile JobObserver observer = JobObserver.NONE;
    private boolean started;
    private volatile Throwable crash;

    // Owned by the render thread: results sent for the work in hand, not yet acknowledged.
    private final List<Future<RecordMetadata>> unacknowledged = new ArrayList<>();

    // Owned by the consumer thread.
    private InFlight inFlight;
    private long retryAt;
    private long cancelsDeadline;
    private boolean cancelsLoaded;

    public JobWorker(WorkerSettings settings, ImageRenderer renderer, ObjectStore store) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.topics = settings.topics();
        this.renderer = Objects.requireNonNull(renderer, "renderer");
        this.store = Objects.requireNonNull(store, "store");
        this.cancelled = new CancelledBatches(settings);
        this.validator = new RequestValidator(settings.limits());
        settings.recordLimits().checkFits(producerConfig(settings));
        this.consumer = new KafkaConsumer<>(consumerConfig(settings), new StringDeserializer(), new ByteArrayDeserializer());
        this.producer = new KafkaProducer<>(producerConfig(settings), new StringSerializer(), new ByteArraySerializer());
        this.renderThread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "latentfarm-render-" + settings.workerId());
            t.setDaemon(true);
            return t;
        });
        this.consumerThread = new Thread(this::run, "latentfarm-jobs-" + settings.workerId());
    }

    static Map<String, Object> consumerConfig(WorkerSettings s) {
        Map<String, Object> c = s.kafka().groupConsumer(s.groupId(), "latentfarm-worker-" + s.workerId());
        // A killed worker is out of the group after the session timeout and its job goes to the
        // partition's next owner. Heartbeats come from the client's own thread, also mid-render.
        c.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) s.sessionTimeout().toMillis());
        c.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, (int) Math.max(100, s.sessionTimeout().toMillis() / 5));
        if (s.groupInstanceId() != null) {
            c.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, s.groupInstanceId());
        }
        // read_committed (groupConsumer): the coordinator writes jobs in transactions, so a job of an
        // aborted one is never rendered.
        // The coordinator creates the jobs topic with its partition count; a worker that starts first
        // (no model to load) must wait for it, not have the broker create it with one partition.
        c.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, s.maxBatch());
        // Moving only the partitions that must move keeps a busy worker's partition where it is.
        c.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        return c;
    }

    static Map<String, Object> producerConfig(WorkerSettings s) {
        Map<String, Object> c = s.kafka().producer("latentfarm-worker-" + s.workerId());
        c.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 0);
        return c;
    }

    /** Tells {@code o} about every job from now on (metrics); call before {@link #start()}. */
    public JobWorker observedBy(JobObserver o) {
        observer = Objects.requireNonNull(o, "observer");
        return this;
    }

    /** Joins the group and starts taking jobs, once the renderer's model is loaded. */
    public synchronized JobWorker start() {
        if (started) {
            throw new IllegalStateException("already started");
        }
        started = true;
        running = true;
        cancelled.start();
        consumerThread.start();
        return this;
    }

    public WorkerStatus status() {
        return new WorkerStatus(settings.workerId(), renderer.isLoaded(), renderer.modelId(), renderer.device(),
                renderer.dtype(),
                running, currentJob.get(), rendered.get(), failed.get(), skipped.get());
    }

    public String workerId() {
        return settings.workerId();
    }

    /** The failure that stopped the consumer thread, if any. */
    public Throwable crash() {
        return crash;
    }

    // ---------------------------------------------------------------- consumer thread

    private void run() {
        try {
            // Join the group only with a model to render with; a failed load ends the worker here.
            while (!renderer.awaitLoaded(IDLE_POLL)) {
                if (stopping.get()) {
                    return;
                }
            }
            cancelsDeadline = System.nanoTime() + CANCELS_LOAD_WAIT.toNanos();
            consumer.subscribe(List.of(topics.jobs()), new Rebalance());
            while (!stopping.get() || inFlight != null) {
                if (inFlight == null) {
                    takeWork();
                } else {
                    tendWork();
                }
            }
        } catch (WakeupException e) {
            // close() while polling
        } catch (Throwable t) {
            crash = t;
            LOG.error("worker {} stopped: {}", settings.workerId(), t.toString(), t);
        } finally {
            running = false;
            try {
                consumer.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                LOG.warn("closing the jobs consumer: {}", e.toString());
            }
            stopped.countDown();
        }
    }

    /**
     * Whether the cancels of before the start are read (or could not be within {@link #CANCELS_LOAD_WAIT}):
     * until then no job is taken, so none of a batch cancelled then is rendered. The group join goes on meanwhile.
     */
    private boolean cancelsLoaded() {
        if (cancelsLoaded) {
            return true;
        }
        if (cancelled.isLoaded()) {
            cancelsLoaded = true;
        } else if (System.nanoTime() > cancelsDeadline) {
            LOG.warn("worker {}: cancelled batches not read within {}; taking jobs anyway", settings.workerId(),
                    CANCELS_LOAD_WAIT);
            cancelsLoaded = true;
        }
        return cancelsLoaded;
    }

    private void takeWork() {
        if (System.currentTimeMillis() < retryAt || !cancelsLoaded()) {
            consumer.pause(consumer.assignment());
            ConsumerRecords<String, byte[]> early = consumer.poll(BUSY_POLL);
            if (!early.isEmpty()) {
                rewind(early); // a partition assigned in that poll once the wait was over: take them next time
            }
            return;
        }
        consumer.resume(consumer.paused());
        ConsumerRecords<String, byte[]> records = consumer.poll(IDLE_POLL);
        if (records.isEmpty() || stopping.get()) {
            if (!records.isEmpty()) {
                rewind(records);
            }
            return;
        }
        List<ConsumerRecord<String, byte[]>> all = new ArrayList<>();
        records.forEach(all::add);
        List<RenderJob> jobs = new ArrayList<>();
        try {
            for (ConsumerRecord<String, byte[]> record : all) {
                String refusal;
                try {
                    jobs.add(accept(record));
                    continue;
                } catch (Refused e) {
                    refusal = e.getMessage();
                } catch (RuntimeException e) {
                    refusal = "cannot take the job: " + e; // a bug on this record's data: still never a wedge
                }
                deadLetter(record, refusal);
            }
        } catch (RuntimeException e) {
            // The dead-letter topic cannot be written now: take the whole poll again after the backoff.
            LOG.warn("worker {}: dead letter not written ({}); retrying", settings.workerId(), e.toString());
            rewind(records);
            retryAt = System.currentTimeMillis() + settings.retryBackoff().toMillis();
            return;
        }
        // No pause yet: a job done within the first wait of tendWork is committed without another
        // poll, and the next poll finds the records fetched meanwhile. A longer one pauses there.
        Work work = new Work(all, jobs);
        inFlight = new InFlight(work, renderThread.submit(() -> process(work)));
    }

    private void tendWork() {
        // Wait for the render itself, not in a poll of paused partitions (which takes its whole
        // timeout): a short job is committed the moment it is done.
        awaitQuietly(inFlight.future, BUSY_POLL);
        if (!inFlight.future.isDone()) {
            // A longer render: polls with every partition paused keep the member alive and run rebalances.
            consumer.pause(consumer.assignment()); // partitions assigned since the last poll, too
            ConsumerRecords<String, byte[]> extra = consumer.poll(Duration.ZERO);
            if (!extra.isEmpty()) {
                rewind(extra);
            }
            if (stopping.get() && !abandon.get() && System.nanoTime() > stopDeadline) {
                LOG.warn("worker {}: job {} did not finish within {}; handing it back", settings.workerId(),
                        currentJob.get(), settings.shutdownGrace());
                abandon.set(true);
            }
            return;
        }
        InFlight done = inFlight;
        inFlight = null;
        Work work = done.work;
        Set<TopicPartition> lost = done.lost;
        Outcome outcome;
        try {
            outcome = done.future.get();
        } catch (ExecutionException e) {
            outcome = Outcome.RETRY;
            LOG.warn("worker {}: {}", settings.workerId(), e.getCause().toString());
        } catch (InterruptedException | CancellationException e) {
            outcome = Outcome.RETRY;
        }
        if (outcome == Outcome.DONE) {
            commit(work, lost);
        } else {
            seekBack(work, lost);
            if (outcome == Outcome.RETRY) {
                retryAt = System.currentTimeMillis() + settings.retryBackoff().toMillis();
            }
        }
        consumer.resume(consumer.paused());
    }

    private volatile long stopDeadline = Long.MAX_VALUE;

    private static void awaitQuietly(Future<?> future, Duration timeout) {
        try {
            future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | CancellationException e) {
            // done or not, tendWork looks at it next
        }
    }

    private void commit(Work work, Set<TopicPartition> lost) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : work.records()) {
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            if (lost.contains(tp) || !assigned.contains(tp)) {
                continue; // revoked meanwhile: its new owner runs the job again
            }
            offsets.merge(tp, new OffsetAndMetadata(r.offset() + 1), (a, b) -> a.offset() >= b.offset() ? a : b);
        }
        if (offsets.isEmpty()) {
            return;
        }
        // The results are on the broker already, so the commit need not hold up the next job: it
        // completes in the background (close() waits for it). A commit that fails (a rebalance took
        // the partition) has the job run again, rewriting the same bytes; the coordinator ignores
        // the second result.
        try {
            consumer.commitAsync(offsets, (committed, e) -> {
                if (e != null) {
                    LOG.warn("worker {}: commit of {} failed ({}); the jobs will run again", settings.workerId(),
                            offsets.keySet(), e.toString());
                }
            });
        } catch (KafkaException e) {
            LOG.warn("worker {}: commit of {} failed ({}); the jobs will run again", settings.workerId(),
                    offsets.keySet(), e.toString());
        }
    }

    private void seekBack(Work work, Set<TopicPartition> lost) {
        Map<TopicPartition, Long> first = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : work.records()) {
            first.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
        }
        first.forEach((tp, offset) -> {
            if (!lost.contains(tp) && assigned.contains(tp)) {
                consumer.seek(tp, offset);
            }
        });
    }

    private void rewind(ConsumerRecords<String, byte[]> records) {
        for (TopicPartition tp : records.partitions()) {
            consumer.seek(tp, records.records(tp).get(0).offset());
        }
    }

    /**
     * The job to render in a record, or {@link Refused} saying why not: too large, not a job, keyed
     * by another id, naming another object key than the one this worker builds for it from its ids,
     * or asking for more than the limits allow. The image key is never taken from the message, so
     * no job can write outside its batch's folder.
     */
    private RenderJob accept(ConsumerRecord<String, byte[]> record) {
        byte[] value = record.value();
        if (value != null && value.length > settings.recordLimits().maxInputBytes()) {
            throw new Refused("job: " + value.length + " bytes is more than the "
                    + settings.recordLimits().maxInputBytes() + " a job may have (max-input-bytes)");
        }
        RenderJob job;
        try {
            job = Json.renderJob(value);
        } catch (MessageDecodeException | IllegalArgumentException | NullPointerException e) {
            throw new Refused(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
        if (!job.jobId().equals(record.key())) {
            throw new Refused("key: " + Excerpt.quote(record.key()) + " is not the job's id \"" + job.jobId() + "\"");
        }
        String key = settings.keys().image(job.batchId(), job.index(), job.total());
        if (!key.equals(job.objectKey())) {
            throw new Refused("objectKey: " + Excerpt.quote(job.objectKey()) + " is not " + key
                    + ", the key this worker writes for " + job.jobId() + " (is latentfarm.s3.key-prefix the same?)");
        }
        List<Violation> violations = validator.validate(job);
        if (!violations.isEmpty()) {
            throw new Refused(violations.stream().map(Violation::toString).collect(Collectors.joining("; ")));
        }
        return job;
    }

    private void deadLetter(ConsumerRecord<String, byte[]> record, String error) {
        LOG.warn("worker {}: job at {} dead-lettered: {}", settings.workerId(), DeadLetters.source(record),
                Excerpt.cut(error));
        send(DeadLetters.of(topics.jobsDlq(), record, error, settings.recordLimits(),
                DeadLetters.WORKER, settings.workerId()));
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            assigned.removeAll(partitions);
            if (inFlight != null) {
                inFlight.lost.addAll(partitions);
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            onPartitionsRevoked(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            assigned.addAll(partitions);
            if (inFlight != null || System.currentTimeMillis() < retryAt || !cancelsLoaded()) {
                consumer.pause(partitions);
            }
        }
    }

    // ---------------------------------------------------------------- render thread

    private Outcome process(Work work) {
        unacknowledged.clear();
        try {
            for (List<RenderJob> call : plan(work.jobs())) {
                if (abandon.get()) {
                    return Outcome.HANDED_BACK;
                }
                renderCall(call);
            }
            awaitPublished(); // every result is on the broker before the offsets are committed
            return Outcome.DONE;
        } catch (Abandoned e) {
            return Outcome.HANDED_BACK;
        } finally {
            unacknowledged.clear();
            currentJob.set(null);
        }
    }

    /**
     * Polled jobs as render calls: duplicates (same job id) render once, as their latest attempt, and
     * compatible jobs of one batch ({@link RenderJob#compatibleWith}: same model, steps, guidance,
     * size, scheduler) share a call (so a failing batch never fails another's jobs), in which the pipeline encodes their prompts once and renders each image alone.
     */
    static List<List<RenderJob>> plan(List<RenderJob> jobs) {
        Map<String, RenderJob> unique = new LinkedHashMap<>();
        for (RenderJob job : jobs) {
            unique.merge(job.jobId(), job, (a, b) -> a.attempt() >= b.attempt() ? a : b);
        }
        List<List<RenderJob>> calls = new ArrayList<>();
        for (RenderJob job : unique.values()) {
            calls.stream().filter(c -> c.get(0).batchId().equals(job.batchId()) && c.get(0).compatibleWith(job))
                    .findFirst()
                    .orElseGet(() -> {
                        List<RenderJob> call = new ArrayList<>();
                        calls.add(call);
                        return call;
                    })
                    .add(job);
        }
        return calls;
    }

    private void renderCall(List<RenderJob> call) {
        List<RenderJob> live = call.stream().filter(j -> !cancelled.contains(j.batchId())).toList();
        if (live.size() < call.size()) {
            skip(call.stream().filter(j -> cancelled.contains(j.batchId())).toList(), "before rendering");
            if (!live.isEmpty()) {
                renderCall(live);
            }
            return;
        }
        List<RenderJob> jobs = call;
        RenderJob lead = jobs.get(0);
        currentJob.set(jobs.size() == 1 ? lead.jobId() : lead.jobId() + " (+" + (jobs.size() - 1) + ")");
        String model = renderer.modelId();
        List<RenderJob> mismatched = jobs.stream()
                .filter(j -> j.model() != null && !j.model().equals(model)).toList();
        if (!mismatched.isEmpty()) {
            for (RenderJob job : mismatched) {
                publishFailure(job, "this worker serves model \"" + model + "\", the job asks for \"" + job.model() + "\"",
                        true);
            }
            List<RenderJob> rest = new ArrayList<>(jobs);
            rest.removeAll(mismatched);
            if (!rest.isEmpty()) {
                renderCall(rest);
            }
            return;
        }
        long start = System.nanoTime();
        long[] lastStep = {start};
        long[] encodeNanos = {0};
        List<RenderedImage> images;
        try {
            images = renderer.render(jobs.stream().map(RenderJob::image).toList(), progress(jobs, lastStep, encodeNanos));
            if (images.size() != jobs.size()) {
                throw new IllegalStateException("renderer returned " + images.size() + " images for "
                        + jobs.size() + " jobs");
            }
        } catch (Abandoned e) {
            throw e;
        } catch (RuntimeException | OutOfMemoryError e) {
            if (abandon.get()) {
                throw new Abandoned();
            }
            if (allCancelled(jobs)) {
                skip(jobs, "during rendering"); // BatchCancelled from the listener, or a failure that no longer matters
                return;
            }
            if (e instanceof InvalidJobException) { // fails alike on every try: no retry, no stack trace
                LOG.warn("worker {}: {} cannot be rendered: {}", settings.workerId(), lead.jobId(), e.getMessage());
                jobs.forEach(job -> publishFailure(job, e.getMessage(), true));
                return;
            }
            String reason = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            LOG.warn("worker {}: rendering {} failed: {}", settings.workerId(), lead.jobId(), reason, e);
            for (RenderJob job : jobs) {
                publishFailure(job, reason);
            }
            return;
        }
        long rendered = System.nanoTime();
        String scheduler = renderer.schedulerName(lead.scheduler());
        for (RenderedImage image : images) {
            RenderJob job = jobs.get(image.index());
            if (cancelled.contains(job.batchId())) {
                skip(List.of(job), "after rendering");
                continue;
            }
            long encodeStart = System.nanoTime();
            byte[] png;
            try {
                png = Png.encode(new RgbImage(image.width(), image.height(), image.rgb()),
                        GenerationParameters.of(job.image(), scheduler, model)
                                .withCompute(renderer.device(), renderer.dtype()));
            } catch (RuntimeException e) {
                // The job's doing, not the store's or the broker's: retrying would fail the same way.
                publishFailure(job, "encoding the PNG failed: " + e, true);
                continue;
            }
            long uploadStart = System.nanoTime();
            store.put(settings.keys().image(job.batchId(), job.index(), job.total()), png, "image/png");
            long uploaded = System.nanoTime();
            // Per call: the prompt encoding, denoising up to the last step, then VAE decoding;
            // shared by the jobs of a packed call. PNG encoding counts as decode.
            long encodeMs = ms(encodeNanos[0]);
            RenderResult.Timings timings = new RenderResult.Timings(encodeMs,
                    Math.max(0, ms(lastStep[0] - start) - encodeMs),
                    ms(rendered - lastStep[0]) + ms(uploadStart - encodeStart), ms(uploaded - uploadStart),
                    ms(uploaded - start));
            publish(new ProducerRecord<>(topics.results(), job.batchId(),
                    Json.toBytes(RenderResult.rendered(job, settings.workerId(), model, timings, warnings(job),
                            renderer.device(), renderer.dtype()).withScheduler(scheduler))));
            this.rendered.incrementAndGet();
            observer.rendered(job, timings);
            // One line per job, in key=value form a log search can take apart.
            LOG.info("rendered batch={} image={} worker={} attempt={} encodeMs={} denoiseMs={} decodeMs={} uploadMs={} totalMs={}",
                    job.batchId(), job.index(), settings.workerId(), job.attempt(), timings.encodeMs(), timings.denoiseMs(),
                    timings.decodeMs(), timings.uploadMs(), timings.totalMs());
        }
    }

    private boolean allCancelled(List<RenderJob> jobs) {
        return jobs.stream().allMatch(j -> cancelled.contains(j.batchId()));
    }

    /** Jobs of cancelled batches: no upload, no result (the coordinator takes none); committed with the rest. */
    private void skip(List<RenderJob> jobs, String when) {
        for (RenderJob job : jobs) {
            skipped.incrementAndGet();
            LOG.info("worker {}: skipped {} {}: its batch is cancelled", settings.workerId(), job.jobId(), when);
        }
    }

    /** The renderer's warnings about the job; best effort, they never fail or hold up a rendered image. */
    private List<String> warnings(RenderJob job) {
        try {
            // Bounded like everything a result carries.
            return renderer.warnings(job).stream().limit(20).map(Excerpt::cut).toList();
        } catch (RuntimeException e) {
            LOG.warn("worker {}: no warnings for {}: {}", settings.workerId(), job.jobId(), e.toString());
            return List.of();
        }
    }

    /** Reports steps as progress events; {@code encodeNanos} receives the prompt encoding's time. */
    private ProgressListener progress(List<RenderJob> jobs, long[] lastStep, long[] encodeNanos) {
        long intervalNanos = settings.progressInterval().toNanos();
        BatchEvent.WorkerInfo self = new BatchEvent.WorkerInfo(settings.workerId(), renderer.modelId(), renderer.device() + " " + renderer.dtype());
        return new ProgressListener() {
            long lastSent = Long.MIN_VALUE;
            long previousStep = Long.MIN_VALUE;

            @Override
            public void onPromptsEncoded(long nanos) {
                encodeNanos[0] = nanos;
            }

            @Override
            public void onStep(int step, int total) {
                if (abandon.get()) {
                    throw new Abandoned();
                }
                if (allCancelled(jobs)) {
                    throw new BatchCancelled();
                }
                long now = System.nanoTime();
                lastStep[0] = now;
                if (previousStep != Long.MIN_VALUE) {
                    observer.step(now - previousStep);
                }
                previousStep = now;
                // A packed call renders its images one after another and counts the steps of all of
                // them (image j's step s is j * n + s of k * n): each job's event says its own s of n.
                int steps = Math.max(1, total / jobs.size());
                int j = Math.min((step - 1) / steps, jobs.size() - 1);
                int jobStep = step - j * steps;
                if (jobStep < steps && lastSent != Long.MIN_VALUE && now - lastSent < intervalNanos) {
                    return;
                }
                lastSent = now;
                RenderJob job = jobs.get(j);
                BatchEvent event = BatchEvent.jobProgress(job.batchId(), job.total(), job.jobId(), jobStep, steps, self);
                // Progress is best effort: never wait for it, never fail the job over it.
                try {
                    producer.send(new ProducerRecord<>(topics.events(), job.batchId(), Json.toBytes(event)));
                } catch (KafkaException e) {
                    LOG.debug("progress event not sent: {}", e.toString());
                }
            }
        };
    }

    private void publishFailure(RenderJob job, String reason) {
        publishFailure(job, reason, false);
    }

    /** @param permanent it would fail alike on every try: the coordinator fails the image at once */
    private void publishFailure(RenderJob job, String reason, boolean permanent) {
        RenderResult failure = RenderResult.failed(job, settings.workerId(), Excerpt.cut(reason));
        publish(new ProducerRecord<>(topics.results(), job.batchId(),
                Json.toBytes(permanent ? failure.asPermanent() : failure)));
        failed.incrementAndGet();
        observer.failed(job, reason);
        LOG.info("failed batch={} image={} worker={} attempt={} reason={}", job.batchId(), job.index(),
                settings.workerId(), job.attempt(), reason);
    }

    /**
     * Sends a result without waiting: the render thread goes on with the next image, and
     * {@link #awaitPublished} waits for all of a poll's results at once, before the commit.
     */
    private void publish(ProducerRecord<String, byte[]> record) {
        unacknowledged.add(producer.send(record));
    }

    /** Waits for the broker's acknowledgement of every result published; a failure propagates (the jobs are retried). */
    private void awaitPublished() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (Future<RecordMetadata> sent : unacknowledged) {
            try {
                sent.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while publishing results", e);
            } catch (ExecutionException | TimeoutException e) {
                throw new IllegalStateException("cannot publish to " + topics.results() + ": " + e, e);
            }
        }
        unacknowledged.clear();
    }

    /** Sends and waits for the broker's acknowledgement; failures propagate (the job is retried). */
    private void send(ProducerRecord<String, byte[]> record) {
        try {
            producer.send(record).get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing to " + record.topic(), e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot publish to " + record.topic() + ": " + e, e);
        }
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    // ---------------------------------------------------------------- shutdown

    /**
     * Stops taking jobs, lets the job in flight finish (publish and commit) within the shutdown
     * grace, else hands it back uncommitted, leaves the group and closes the clients. The renderer
     * is the caller's to close.
     */
    @Override
    public void close() {
        if (stopping.getAndSet(true)) {
            awaitStopped();
            return;
        }
        stopDeadline = System.nanoTime() + settings.shutdownGrace().toNanos();
        synchronized (this) {
            if (!started) {
                consumer.close(Duration.ZERO);
                stopped.countDown();
            }
        }
        awaitStopped();
        renderThread.shutdownNow();
        cancelled.close();
        producer.close(Duration.ofSeconds(5));
    }

    private void awaitStopped() {
        try {
            // The consumer thread ends after the grace period plus one render step at most.
            while (!stopped.await(1, TimeUnit.SECONDS)) {
                if (!consumerThread.isAlive()) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- types

    private enum Outcome { DONE, RETRY, HANDED_BACK }

    private record Work(List<ConsumerRecord<String, byte[]>> records, List<RenderJob> jobs) {
    }

    private static final class InFlight {
        final Work work;
        final Future<Outcome> future;
        final Set<TopicPartition> lost = new HashSet<>();

        InFlight(Work work, Future<Outcome> future) {
            this.work = work;
            this.future = future;
        }
    }

    /** A record that is not a job to render; the message says why. */
    private static final class Refused extends RuntimeException {
        Refused(String why) {
            super(why, null, false, false);
        }
    }

    /** Thrown from the progress listener to stop a render whose batch is cancelled. */
    private static final class BatchCancelled extends RuntimeException {
        BatchCancelled() {
            super("batch cancelled", null, false, false);
        }
    }

    /** Thrown from the progress listener to stop a render that is being handed back. */
    private static final class Abandoned extends RuntimeException {
        Abandoned() {
            super("handed back on shutdown", null, false, false);
        }
    }
}
