package io.latentfarm.client;

import io.latentfarm.common.BatchIds;
import io.latentfarm.client.kafka.KafkaClientProperties;
import io.latentfarm.client.kafka.Partitions;
import io.latentfarm.client.kafka.TopicReader;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.CancelRequest;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.MessageDecodeException;
import io.latentfarm.common.message.RenderRequest;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * What a user's program does with latentfarm over Kafka alone: send a request, and follow a
 * batch's events. Events are read with {@code read_committed} (the coordinator writes them in
 * transactions) from the one partition the batch id's key hashes to.
 */
public final class BatchClient implements AutoCloseable {
    private final KafkaClientProperties kafka;
    private final Topics topics;
    private KafkaProducer<String, byte[]> producer;

    public BatchClient(KafkaClientProperties kafka, Topics topics) {
        this.kafka = kafka;
        this.topics = topics;
    }

    /** A cluster that needs no client settings but its address. */
    public BatchClient(String bootstrap, Topics topics) {
        this(KafkaClientProperties.of(bootstrap), topics);
    }

    /**
     * Sends the request keyed by its batch id (a new one when it has none) and returns the request as sent.
     */
    public RenderRequest submit(RenderRequest request) {
        RenderRequest withId = request.batchId() != null ? request : request.withBatchId(BatchIds.newId());
        send(withId.batchId(), Json.toBytes(withId));
        return withId;
    }

    /**
     * Asks the coordinator to cancel a running batch: a {@link CancelRequest} on the requests topic,
     * keyed by the batch id. The answer is the batch's {@code cancelled} event, or a {@code rejected}
     * one when there is no such batch or it is not running.
     *
     * @param reason for the {@code cancelled} event; null: a default
     */
    public CancelRequest cancel(String batchId, String reason) {
        CancelRequest cancel = CancelRequest.of(BatchIds.requireValid(batchId), reason);
        send(batchId, Json.toBytes(cancel));
        return cancel;
    }

    /** Sends raw bytes to the requests topic (any JSON, valid or not), keyed by {@code key}. Thread-safe. */
    public void send(String key, byte[] value) {
        try {
            producer().send(new ProducerRecord<>(topics.requests(), key, value)).get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending the request", e);
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalStateException("cannot send the request to " + topics.requests() + " on " + kafka.bootstrap()
                    + ": " + cause.getMessage(), e);
        }
    }

    // Made on first use; the web page's requests may come from several threads at once.
    private synchronized KafkaProducer<String, byte[]> producer() {
        if (producer == null) {
            Map<String, Object> c = kafka.producer(null);
            c.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
            producer = new KafkaProducer<>(c, new StringSerializer(), new ByteArraySerializer());
        }
        return producer;
    }

    /**
     * A reader of one batch's events: from the start of the events topic, or only those written
     * from now on (open it before submitting, so none is missed).
     */
    public Events events(String batchId, boolean fromBeginning) {
        return new Events(batchId, fromBeginning);
    }

    @Override
    public synchronized void close() {
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
    }

    /** One batch's events, in order. */
    public final class Events implements AutoCloseable {
        private final String batchId;
        private final KafkaConsumer<String, byte[]> consumer;

        private Events(String batchId, boolean fromBeginning) {
            this.batchId = BatchIds.requireValid(batchId);
            Map<String, Object> c = kafka.consumer(null);
            c.putIfAbsent(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
            consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
            try {
                List<PartitionInfo> infos = consumer.partitionsFor(topics.events(), Duration.ofSeconds(30));
                if (infos == null || infos.isEmpty()) {
                    throw new IllegalStateException("no topic " + topics.events() + " on " + kafka.bootstrap()
                            + " (is a coordinator running?)");
                }
                TopicPartition tp = new TopicPartition(topics.events(), Partitions.of(batchId, infos.size()));
                consumer.assign(List.of(tp));
                if (fromBeginning) {
                    consumer.seekToBeginning(List.of(tp));
                } else {
                    consumer.seekToEnd(List.of(tp));
                }
                consumer.position(tp); // resolve it now, before the caller submits
            } catch (RuntimeException e) {
                consumer.close();
                throw e;
            }
        }

        /** The events that arrived within {@code timeout} (possibly none). */
        public List<BatchEvent> poll(Duration timeout) {
            List<BatchEvent> out = new ArrayList<>();
            for (ConsumerRecord<String, byte[]> r : consumer.poll(timeout)) {
                decode(r).ifPresent(out::add);
            }
            return out;
        }

        private Optional<BatchEvent> decode(ConsumerRecord<String, byte[]> r) {
            if (!batchId.equals(r.key())) {
                return Optional.empty();
            }
            try {
                return Optional.of(Json.batchEvent(r.value()));
            } catch (MessageDecodeException e) {
                return Optional.empty(); // not ours to judge; skip
            }
        }

        /** Every event up to now (the end of the partition), for a status query. */
        public List<BatchEvent> readToEnd() {
            List<BatchEvent> out = new ArrayList<>();
            TopicReader.readToEnd(consumer, consumer.assignment(), Duration.ofMinutes(2), r -> decode(r).ifPresent(out::add));
            return out;
        }

        /**
         * Waits for the batch's final event (completed, rejected, failed, cancelled), handing every
         * event to {@code onEvent} on the way.
         */
        public Optional<BatchEvent> awaitFinal(Duration timeout, Consumer<BatchEvent> onEvent) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (BatchEvent e : poll(Duration.ofMillis(200))) {
                    onEvent.accept(e);
                    if (e.type().isFinal()) {
                        return Optional.of(e);
                    }
                }
            }
            return Optional.empty();
        }

        @Override
        public void close() {
            consumer.close(Duration.ofSeconds(2));
        }
    }
}
