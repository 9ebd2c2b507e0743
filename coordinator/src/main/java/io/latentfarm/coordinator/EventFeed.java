package io.latentfarm.coordinator;

import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.MessageDecodeException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Follows the events and results topics from now on ({@code read_committed}, no consumer group:
 * it only watches) for the web page: every batch event goes to the listeners (the page's
 * server-sent events), and the workers' step progress and results feed {@link WorkersView}.
 */
final class EventFeed implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventFeed.class);

    private final CoordinatorSettings settings;
    private final KafkaConsumer<String, byte[]> consumer;
    private final List<Consumer<BatchEvent>> listeners = new CopyOnWriteArrayList<>();
    private final WorkersView workers = new WorkersView();
    private final Thread thread;
    private volatile boolean stopping;

    EventFeed(CoordinatorSettings settings) {
        this.settings = settings;
        consumer = new KafkaConsumer<>(settings.clientProperties().consumer(settings.transactionalId() + "-web"),
                new StringDeserializer(), new ByteArrayDeserializer());
        thread = new Thread(this::run, "latentfarm-web-feed");
        thread.setDaemon(true);
    }

    EventFeed start() {
        List<TopicPartition> tps = new ArrayList<>();
        for (String topic : List.of(settings.topics().events(), settings.topics().results())) {
            consumer.partitionsFor(topic, Duration.ofSeconds(30))
                    .forEach(p -> tps.add(new TopicPartition(topic, p.partition())));
        }
        consumer.assign(tps);
        consumer.seekToEnd(tps);
        tps.forEach(consumer::position); // resolve "now" before anything is submitted through the page
        thread.start();
        return this;
    }

    WorkersView workers() {
        return workers;
    }

    /** {@code listener} gets every batch event from now on, on the feed's thread; it must be quick. */
    Runnable subscribe(Consumer<BatchEvent> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    private void run() {
        String events = settings.topics().events();
        try {
            while (!stopping) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    try {
                        if (r.topic().equals(events)) {
                            BatchEvent event = Json.batchEvent(r.value());
                            workers.onEvent(event, System.currentTimeMillis());
                            for (Consumer<BatchEvent> l : listeners) {
                                l.accept(event);
                            }
                        } else {
                            workers.onResult(Json.renderResult(r.value()), System.currentTimeMillis());
                        }
                    } catch (MessageDecodeException | IllegalArgumentException e) {
                        // the coordinator dead-letters what it cannot read; the page just skips it
                    } catch (RuntimeException e) {
                        LOG.warn("web feed: {} at {}-{}@{}", e.toString(), r.topic(), r.partition(), r.offset());
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.error("web feed stopped: {}", e.toString(), e);
        } finally {
            consumer.close(Duration.ZERO);
        }
    }

    @Override
    public void close() {
        stopping = true;
        consumer.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
