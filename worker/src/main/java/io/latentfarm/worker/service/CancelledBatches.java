package io.latentfarm.worker.service;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
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

    private final String topic;
    private final String workerId;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Set<String> ids = ConcurrentHashMap.newKeySet();
    private final CountDownLatch loaded = new CountDownLatch(1);
    private final CountDownLatch stop = new CountDownLatch(1);
    private final Thread thread;
    private boolean started;
    private boolean closed;
    private Map<TopicPartition, Long> loadTo;
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
        Map<String, Object> c = new HashMap<>();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, s.bootstrap());
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, "latentfarm-worker-" + s.workerId() + "-cancels");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // Only what the coordinator committed: its state says cancelled too.
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // Never create it by asking: it must be compacted, and the coordinator creates it so.
        c.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        c.putAll(s.kafka());
        c.remove(ConsumerConfig.GROUP_ID_CONFIG);
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
                    markLoadedOnceCaughtUp();
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(POLL)) {
                        if (r.key() == null) {
                            continue;
                        }
                        if (r.value() == null) {
                            ids.remove(r.key()); // a tombstone: compacted away
                        } else if (ids.add(r.key()) && loaded.getCount() == 0) {
                            LOG.info("worker {}: batch {} is cancelled; skipping its jobs", workerId, r.key());
                        }
                    }
                    markLoadedOnceCaughtUp();
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

    private void markLoadedOnceCaughtUp() {
        if (loaded.getCount() > 0
                && loadTo.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue())) {
            LOG.info("worker {}: {} cancelled batch(es) known", workerId, ids.size());
            loaded.countDown();
        }
    }

    /** Assigns every partition of the topic from its beginning; false when there is no such topic. */
    private boolean assign() {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
        if (infos == null || infos.isEmpty()) {
            if (!warnedMissing) {
                LOG.warn("worker {}: no topic {} yet; jobs of cancelled batches are rendered until it exists",
                        workerId, topic);
                warnedMissing = true;
            }
            return false;
        }
        List<TopicPartition> tps = infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
        consumer.assign(tps);
        consumer.seekToBeginning(tps);
        loadTo = consumer.endOffsets(tps);
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
