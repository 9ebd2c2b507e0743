package io.latentfarm.worker.service;

import io.latentfarm.client.kafka.KafkaClientProperties;
import io.latentfarm.common.Topics;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.RenderResult;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.embedded.EmbeddedKafka;
import io.latentfarm.embedded.EmbeddedS3;
import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.model.pipeline.InvalidJobException;
import io.latentfarm.model.pipeline.ProgressListener;
import io.latentfarm.model.pipeline.RenderedImage;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The job consumer on a real broker and S3 server with stand-in renderers: what it publishes,
 * when it commits, and what it does with failures, long renders and shutdown.
 */
class JobWorkerTest {
    @TempDir
    static Path dir;
    static EmbeddedKafka kafka;
    static EmbeddedS3 s3;
    static ObjectStore store;

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        s3 = EmbeddedS3.start(dir.resolve("s3"));
        store = ObjectStore.open(s3.objectStoreConfig());
    }

    @AfterAll
    static void stop() {
        if (store != null) store.close();
        if (s3 != null) s3.close();
        if (kafka != null) kafka.close();
    }

    /** Flat images; throws for the prompt "boom"; sleeps {@code stepMillis} per step; one warning per job. */
    static final class StandIn implements ImageRenderer {
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger steps = new AtomicInteger();
        final List<String> prompts = new java.util.concurrent.CopyOnWriteArrayList<>();
        final long stepMillis;

        StandIn(long stepMillis) {
            this.stepMillis = stepMillis;
        }

        @Override
        public List<RenderedImage> render(List<ImageSpec> images, ProgressListener listener) {
            calls.incrementAndGet();
            List<RenderedImage> out = new ArrayList<>();
            for (int index = 0; index < images.size(); index++) {
                ImageSpec image = images.get(index);
                prompts.add(image.prompt());
                if (image.prompt().equals("boom")) {
                    throw new IllegalStateException("the UNet exploded");
                }
                if (image.prompt().equals("invalid")) {
                    throw new InvalidJobException("scheduler_config.json: use_beta_sigmas is not supported", null);
                }
                for (int s = 1; s <= image.steps(); s++) {
                    sleep(stepMillis);
                    steps.incrementAndGet();
                    listener.onStep(s, image.steps());
                }
                byte[] rgb = new byte[image.width() * image.height() * 3];
                java.util.Arrays.fill(rgb, (byte) (image.sliceIndex() * 10));
                out.add(new RenderedImage(index, image.width(), image.height(), rgb));
            }
            return out;
        }

        private static void sleep(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public List<String> warnings(RenderJob job) {
            return List.of("prompt: read by a stand-in: " + job.prompt());
        }

        @Override
        public String modelId() {
            return "stand-in";
        }

        @Override
        public String device() {
            return "cpu";
        }
    }

    static Topics topics(String prefix) throws Exception {
        Topics t = new Topics(prefix);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(t.all().stream().map(n -> new NewTopic(n, 1, (short) 1)).toList()).all().get();
        }
        return t;
    }

    static WorkerSettings settings(Topics t, String id, Duration grace, Map<String, String> kafkaOverrides) {
        return WorkerSettings.builder().kafka(new KafkaClientProperties(kafka.bootstrapServers(), kafkaOverrides))
                .topics(t).groupId("workers-" + t.prefix()).workerId(id).maxBatch(1)
                .progressInterval(Duration.ofMillis(100)).shutdownGrace(grace).retryBackoff(Duration.ofMillis(500))
                .sessionTimeout(Duration.ofSeconds(10)).build();
    }

    static RenderJob job(String batch, int index, int total, String prompt, int steps) {
        RenderRequest r = RenderRequest.builder().batchId(batch).prompt(prompt).count(total).steps(steps)
                .size(64, 64).seed(1L).build();
        return RenderJob.forImage(r, index, "batches/" + batch + "/images/" + String.format("%04d", index) + ".png");
    }

    static void produce(Topics t, String key, byte[] value) throws Exception {
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new StringSerializer(), new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(t.jobs(), key, value)).get();
        }
    }

    static void produce(Topics t, RenderJob job) throws Exception {
        produce(t, job.jobId(), Json.toBytes(job));
    }

    /** What the coordinator writes to the cancels topic when it cancels a batch. */
    static void cancel(Topics t, String batch) throws Exception {
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new StringSerializer(), new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(t.cancels(), batch, Json.toBytes(BatchEvent.cancelled(batch, "test")))).get();
        }
    }

    static List<ConsumerRecord<String, byte[]>> await(String topic, int count) {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (out.size() < count && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(100)).forEach(out::add);
            }
            return out;
        }
    }

    static List<ConsumerRecord<String, byte[]>> readToEnd(String topic) {
        return kafka.readAll(topic, false);
    }

    static long committed(Topics t) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            OffsetAndMetadata o = admin.listConsumerGroupOffsets("workers-" + t.prefix())
                    .partitionsToOffsetAndMetadata().get().get(new TopicPartition(t.jobs(), 0));
            return o == null ? 0 : o.offset();
        }
    }

    static void awaitCommitted(Topics t, long offset) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (committed(t) < offset && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertEquals(offset, committed(t));
    }

    @Test
    void failedRenderIsReportedAndTheQueueMovesOn() throws Exception {
        Topics t = topics("w1.");
        produce(t, job("b1", 0, 2, "boom", 2));
        produce(t, "garbage", "{not a job".getBytes(StandardCharsets.UTF_8));
        produce(t, job("b1", 1, 2, "fine", 2));
        produce(t, job("b2", 0, 1, "invalid", 1));
        try (JobWorker worker = new JobWorker(settings(t, "w1", Duration.ofSeconds(5), null), new StandIn(0), store).start()) {
            List<RenderResult> results = await(t.results(), 3).stream().map(r -> Json.renderResult(r.value())).toList();
            assertEquals(3, results.size());
            // a failure no retry can change: the one reason, marked permanent (the coordinator fails the image at once)
            RenderResult invalid = results.get(2);
            assertEquals("scheduler_config.json: use_beta_sigmas is not supported", invalid.reason());
            assertTrue(invalid.failsOnEveryTry());
            assertFalse(results.get(0).failsOnEveryTry(), "an exception may pass: retried");
            RenderResult failed = results.get(0);
            assertEquals(RenderResult.Status.FAILED, failed.status());
            assertEquals(1, failed.attempt());
            assertTrue(failed.reason().contains("the UNet exploded"), failed.reason());
            RenderResult ok = results.get(1);
            assertEquals(RenderResult.Status.RENDERED, ok.status());
            assertEquals("stand-in", ok.model());
            assertEquals("w1", ok.workerId());
            assertEquals(List.of("prompt: read by a stand-in: fine"), ok.warnings());
            assertNull(failed.warnings());
            byte[] png = store.get(ok.objectKey());
            assertEquals(64, Png.decode(png).width());
            assertTrue(Png.readParameters(png).orElseThrow().contains("Model: stand-in"));

            List<ConsumerRecord<String, byte[]>> dlq = await(t.jobsDlq(), 1);
            assertEquals("garbage", dlq.get(0).key());
            assertNotNull(dlq.get(0).headers().lastHeader("latentfarm.error"));
            awaitCommitted(t, 4);
            assertEquals(1, worker.status().rendered());
            assertEquals(2, worker.status().failed());
        }
    }

    /**
     * The synthetic renderer behind the real job consumer, four jobs a poll: each image lands in the
     * bucket under its own key as the 8x8 picture of its seed, slice and prompt, each job gets its
     * result, all are committed, and no progress event is sent.
     */
    @Test
    void syntheticRendererImagesLandInTheBucketWithTheirResults() throws Exception {
        Topics t = topics("ws.");
        List<RenderJob> jobs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            jobs.add(job("bs", i, 6, "synthetic", 3));
        }
        jobs.add(job("bs2", 0, 1, "another prompt", 3));
        for (RenderJob j : jobs) {
            produce(t, j);
        }
        WorkerSettings settings = settings(t, "ws", Duration.ofSeconds(5), Map.of()).toBuilder().maxBatch(4).build();
        try (JobWorker worker = new JobWorker(settings, new SyntheticRenderer(Duration.ofMillis(1)), store).start()) {
            List<RenderResult> results = await(t.results(), jobs.size()).stream()
                    .map(r -> Json.renderResult(r.value())).toList();
            assertEquals(jobs.size(), results.size());
            java.util.Set<String> distinct = new java.util.HashSet<>();
            for (RenderJob j : jobs) {
                RenderResult result = results.stream().filter(r -> r.jobId().equals(j.jobId())).findFirst().orElseThrow();
                assertEquals(RenderResult.Status.RENDERED, result.status());
                assertEquals(SyntheticRenderer.MODEL_ID, result.model());
                byte[] png = store.get(j.objectKey());
                io.latentfarm.common.image.RgbImage image = Png.decode(png);
                assertEquals(SyntheticRenderer.SIZE, image.width());
                assertEquals(SyntheticRenderer.SIZE, image.height());
                assertTrue(java.util.Arrays.equals(SyntheticRenderer.pixels(j.generatorSeed(), j.sliceIndex(), j.prompt()),
                        image.pixels()), j.jobId());
                distinct.add(java.util.Base64.getEncoder().encodeToString(image.pixels()));
            }
            assertEquals(jobs.size(), distinct.size(), "every image its own pixels");
            awaitCommitted(t, jobs.size());
            assertEquals(jobs.size(), worker.status().rendered());
            assertTrue(readToEnd(t.events()).isEmpty(), "a synthetic render sends no progress events");
        }
    }

    /**
     * A render four times longer than max.poll.interval.ms: the consumer keeps polling with its
     * partitions paused, stays in the group, renders the job once and commits it.
     */
    @Test
    void staysInTheGroupDuringARenderLongerThanThePollInterval() throws Exception {
        Topics t = topics("w2.");
        produce(t, job("b2", 0, 1, "slow", 20));
        StandIn slow = new StandIn(200);
        try (JobWorker worker = new JobWorker(settings(t, "w2", Duration.ofSeconds(5),
                Map.of("max.poll.interval.ms", "1000")), slow, store).start()) {
            assertEquals(1, await(t.results(), 1).size());
            awaitCommitted(t, 1);
            assertEquals(1, slow.calls.get());
            List<ConsumerRecord<String, byte[]>> events = await(t.events(), 3);
            assertTrue(events.size() >= 3, "step progress events: " + events.size());
        }
    }

    /** Closed mid-render with no grace: nothing published or committed; the next worker renders it. */
    @Test
    void jobInFlightIsHandedBackOnShutdown() throws Exception {
        Topics t = topics("w3.");
        produce(t, job("b3", 0, 1, "long", 50));
        StandIn slow = new StandIn(100);
        JobWorker first = new JobWorker(settings(t, "w3a", Duration.ZERO, null), slow, store).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (first.status().currentJob() == null && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        first.close();
        assertEquals(0, committed(t));
        try (JobWorker second = new JobWorker(settings(t, "w3b", Duration.ofSeconds(5), null), new StandIn(0), store).start()) {
            List<RenderResult> results = await(t.results(), 1).stream().map(r -> Json.renderResult(r.value())).toList();
            assertEquals("w3b", results.get(0).workerId());
            awaitCommitted(t, 1);
        }
    }

    /**
     * A worker killed mid-render: here a static member (group.instance.id) closed without leaving
     * the group, which the broker cannot tell from a dead process; only the session timeout ends
     * its membership. With the default timeouts the other worker renders the job within 15 s.
     */
    @Test
    void aKilledWorkersJobIsRenderedElsewhereWithinFifteenSeconds() throws Exception {
        Topics t = topics("w5.");
        JobWorker first = new JobWorker(settings(t, "w5a", Duration.ZERO, null).toBuilder().groupInstanceId("w5a").build(),
                new StandIn(100), store).start();
        produce(t, job("b5", 0, 1, "orphaned", 150));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (first.status().currentJob() == null && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals("b5/0000", first.status().currentJob());
        try (JobWorker second = new JobWorker(settings(t, "w5b", Duration.ofSeconds(5), null), new StandIn(0), store)
                .start()) {
            awaitMembers(t, 2);
            long killed = System.nanoTime();
            first.close(); // hands the render back uncommitted; a static member stays in the group
            List<RenderResult> results = await(t.results(), 1).stream().map(r -> Json.renderResult(r.value())).toList();
            long seconds = Duration.ofNanos(System.nanoTime() - killed).toSeconds();
            assertEquals(List.of("w5b"), results.stream().map(RenderResult::workerId).toList());
            assertTrue(seconds < 15, "re-rendered " + seconds + " s after the kill");
            System.out.println("killed worker's job re-rendered elsewhere after " + seconds + " s");
            awaitCommitted(t, 1);
        }
    }

    static void awaitMembers(Topics t, int members) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            String group = "workers-" + t.prefix();
            while (admin.describeConsumerGroups(List.of(group)).all().get().get(group).members().size() < members) {
                assertTrue(System.nanoTime() < deadline, "workers did not join");
                Thread.sleep(50);
            }
        }
    }

    /**
     * A job of a batch cancelled before the worker started is not rendered, one of a batch cancelled
     * during its render stops at the next step; neither gets a result, both are committed, and the
     * job between them renders as usual.
     */
    @Test
    void jobsOfCancelledBatchesAreSkippedBeforeAndDuringTheirRender() throws Exception {
        Topics t = topics("w4.");
        cancel(t, "gone");
        produce(t, job("gone", 0, 2, "never rendered", 2));
        produce(t, job("kept", 0, 1, "rendered", 2));
        produce(t, job("later", 0, 1, "cut short", 100));
        StandIn renderer = new StandIn(30);
        WorkerSettings settings = settings(t, "w4", Duration.ofSeconds(5), null);
        try (JobWorker worker = new JobWorker(settings, renderer, store).start()) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!"later/0000".equals(worker.status().currentJob()) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals("later/0000", worker.status().currentJob());
            cancel(t, "later");
            awaitCommitted(t, 3);
            assertEquals(List.of("rendered", "cut short"), renderer.prompts);
            assertTrue(renderer.steps.get() < 2 + 100, "the cancelled render ran all its steps");
            // Results are acknowledged before their job is committed: all of them are in by now.
            assertEquals(List.of("kept/0000"), readToEnd(t.results()).stream()
                    .map(r -> Json.renderResult(r.value()).jobId()).toList());
            assertEquals(2, worker.status().skipped());
            assertEquals(1, worker.status().rendered());
            assertEquals(0, worker.status().failed());
        }
    }
}
