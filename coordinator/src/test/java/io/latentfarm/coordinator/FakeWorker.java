package io.latentfarm.coordinator;

import io.latentfarm.common.Topics;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderResult;
import io.latentfarm.client.storage.ObjectStore;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

/**
 * Stands in for the worker in coordinator tests: each job's image is a flat colour made from its
 * index, uploaded and reported the way a worker does. {@code failWhen} jobs get a failed result.
 */
final class FakeWorker implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> consumer;
    private final KafkaProducer<String, byte[]> producer;
    private final ObjectStore store;
    private final Topics topics;
    private final Predicate<RenderJob> failWhen;
    private final Predicate<RenderJob> dropWhen;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Thread thread;
    final List<RenderJob> seen = new CopyOnWriteArrayList<>();
    volatile boolean paused;
    /** Jobs whose PNG is uploaded; the others get a result only (batches whose images nobody reads: no grid). */
    volatile Predicate<RenderJob> uploadWhen = j -> true;

    FakeWorker(String bootstrap, Topics topics, ObjectStore store, Predicate<RenderJob> failWhen,
               Predicate<RenderJob> dropWhen) {
        this.topics = topics;
        this.store = store;
        this.failWhen = failWhen;
        this.dropWhen = dropWhen;
        consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, "fake-workers-" + topics.prefix(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1000),
                new StringDeserializer(), new ByteArrayDeserializer());
        producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
                new StringSerializer(), new ByteArraySerializer());
        thread = new Thread(this::run, "fake-worker");
        thread.start();
    }

    /** Every image gets the same warning, image 0 one more (the batch's are distinct and sorted). */
    static List<String> warningsFor(int index) {
        return index == 0 ? List.of("prompt: read by a fake worker", "negativePrompt: image 0")
                : List.of("prompt: read by a fake worker");
    }

    static RgbImage imageFor(int index, int width, int height) {
        RgbImage image = RgbImage.blank(width, height);
        byte[] p = image.pixels();
        for (int i = 0; i < p.length; i += 3) {
            p[i] = (byte) (40 * index);
            p[i + 1] = (byte) (255 - 40 * index);
            p[i + 2] = (byte) (i / 3 % width);
        }
        return image;
    }

    private void run() {
        consumer.subscribe(List.of(topics.jobs()));
        while (!stop.get()) {
            if (paused) {
                sleep();
                continue;
            }
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                RenderJob job = Json.renderJob(r.value());
                seen.add(job);
                if (dropWhen.test(job)) {
                    continue; // as if the worker died with it
                }
                publish(job, failWhen.test(job));
            }
            producer.flush();
        }
    }

    /** Renders the job (or reports it failed) and publishes its result, as a worker does. */
    void publish(RenderJob job, boolean fail) {
        RenderResult result;
        if (fail) {
            result = RenderResult.failed(job, "fake", "simulated failure");
            if (job.batchId().startsWith("b-invalid")) {
                result = result.asPermanent(); // as a worker reports a job no retry can change
            }
        } else {
            if (uploadWhen.test(job)) {
                store.put(job.objectKey(), Png.encode(imageFor(job.index(), job.width(), job.height())), "image/png");
            }
            result = RenderResult.rendered(job, "fake", "fake-model", new RenderResult.Timings(0, 1, 1, 1, 3),
                    warningsFor(job.index())).withScheduler("euler_karras"); // the model's own, as a worker reports it
        }
        producer.send(new ProducerRecord<>(topics.results(), job.batchId(), Json.toBytes(result)));
    }

    private static void sleep() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        thread.join(10_000);
        consumer.close();
        producer.close();
    }
}
