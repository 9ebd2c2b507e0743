package io.latentfarm.worker.service;

import io.latentfarm.client.kafka.TopicReader;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The ids of cancelled batches, read whole from the compacted cancels topic (key: batch id) and
 * followed from then on, so the worker can skip their jobs.
 *
 * <p>Why that topic: the coordinator writes a batch's record there in the same transaction as its
 * cancelled state, so a worker reading it {@code read_committed} never skips a job the coordinator
 * still waits for, and needs to publish no result for a job it skips. The topic holds one small
 * record per cancelled batch, so a starting worker reads it all in moments (the events topic, by
 * contrast, is large and not compacted). Each worker reads every partition, outside any group.
 *
 * <p>Best effort, never in the way: without the topic (a coordinator older than cancelling) or
 * without the broker, nothing is known cancelled and jobs render as before; it tries again every
 * few seconds.
 */
final class CancelledBatches implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CancelledBatches.class);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final Duration RETRY = Duration.ofSeconds(5);
    private static final Duration LOAD_TIMEOUT = Duration.ofMinutes(1);

    private final String topic;
    private final String workerId;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Set<String> ids = ConcurrentHashMap.newKeySet();
    private final CountDownLatch loaded = new CountDownLatch(1);
    private final CountDownLatch stop = new CountDownLatch(1);
    private final Thread thread;
    private boolean started;
    private boolean closed;
    private boolean warnedMissing;

    CancelledBatches(WorkerSettings settings) {
        this.topic = settings.topics().cancels();
        this.workerId = settings.workerId();
        this.consumer = new KafkaConsumer<>(consumerConfig(settings), new StringDeserializer(),
                new ByteArrayDeserializer());
        this.thread = new Thread(this::run, "latentfarm-cancels-" + settings.workerId());
        this.thread.setDaemon(true);
    }

    static Map<String, Object> consumerConfig(WorkerSettings s) {
        // read_committed, outside any group: only what the coordinator committed (its state says
        // cancelled too)
        Map<String, Object> c = s.kafka().consumer("latentfarm-worker-" + s.workerId() + "-cancels");
        // Never create it by asking: it must be compacted, and the coordinator creates it so.
        c.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        return c;
    }

    synchronized CancelledBatches start() {
        started = true;
        thread.start();
        return this;
    }

    /** Whether the batch is known to be cancelled. */
    boolean contains(String batchId) {
        return ids.contains(batchId);
    }

    /** Whether the cancels of before the start are read (or the topic was found missing, or unreadable). */
    boolean isLoaded() {
        return loaded.getCount() == 0;
    }

    private void run() {
        try {
            while (stop.getCount() > 0) {
                try {
                    if (consumer.assignment().isEmpty() && !assign()) {
                        loaded.countDown(); // nothing to know
                        sleep(RETRY);
                        continue;
                    }
                    consumer.poll(POLL).forEach(this::apply);
                } catch (WakeupException e) {
                    throw e;
                } catch (KafkaException e) {
                    LOG.warn("worker {}: reading {}: {}; trying again in {}", workerId, topic, e.toString(), RETRY);
                    consumer.unsubscribe();
                    loaded.countDown();
                    sleep(RETRY);
                }
            }
        } catch (WakeupException e) {
            // close()
        } finally {
            loaded.countDown();
            try {
                consumer.close(Duration.ofSeconds(2));
            } catch (RuntimeException e) {
                LOG.debug("closing the cancels consumer: {}", e.toString());
            }
        }
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        if (r.key() == null) {
            return;
        }
        if (r.value() == null) {
            ids.remove(r.key()); // a tombstone: compacted away
        } else if (ids.add(r.key()) && loaded.getCount() == 0) {
            LOG.info("worker {}: batch {} is cancelled; skipping its jobs", workerId, r.key());
        }
    }

    /**
     * Assigns every partition of the topic and reads it from its beginning to its end; false when
     * there is no such topic.
     */
    private boolean assign() {
        List<TopicPartition> tps = TopicReader.allPartitions(consumer, topic, Duration.ofSeconds(10));
        if (tps.isEmpty()) {
            if (!warnedMissing) {
                LOG.warn("worker {}: no topic {} yet; jobs of cancelled batches are rendered until it exists",
                        workerId, topic);
                warnedMissing = true;
            }
            return false;
        }
        consumer.assign(tps);
        consumer.seekToBeginning(tps);
        if (TopicReader.readToEnd(consumer, tps, LOAD_TIMEOUT, this::apply)) {
            LOG.info("worker {}: {} cancelled batch(es) known", workerId, ids.size());
        } else {
            LOG.warn("worker {}: {} not read to its end within {}; following it from here", workerId, topic,
                    LOAD_TIMEOUT);
        }
        loaded.countDown();
        return true;
    }

    /** Sleeps, or returns at once when closing. */
    private void sleep(Duration d) {
        try {
            stop.await(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop.countDown();
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        stop.countDown();
        if (!started) {
            consumer.close(Duration.ZERO);
            return;
        }
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
