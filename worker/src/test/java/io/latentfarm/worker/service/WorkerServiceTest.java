package io.latentfarm.worker.service;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.RenderResult;
import io.latentfarm.embedded.EmbeddedKafka;
import io.latentfarm.embedded.EmbeddedS3;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Micronaut worker service: loads the model from configuration in the background, and says in
 * /health whether it is loaded (DOWN until then, and for good after a failed load), which model, where.
 */
class WorkerServiceTest {
    @TempDir
    static Path dir;
    static EmbeddedKafka kafka;
    static EmbeddedS3 s3;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        s3 = EmbeddedS3.start(dir.resolve("s3"));
    }

    @AfterAll
    static void stop() {
        if (s3 != null) s3.close();
        if (kafka != null) kafka.close();
    }

    private EmbeddedServer worker(Path model, String id) {
        return worker(model, id, "auto");
    }

    private EmbeddedServer worker(Path model, String id, String dtype) {
        return ApplicationContext.run(EmbeddedServer.class, properties(model, id, dtype), "worker");
    }

    private static Map<String, Object> properties(Path model, String id, String dtype) {
        return Map.of(
                "micronaut.server.port", -1,
                "latentfarm.kafka.bootstrap", kafka.bootstrapServers(),
                "latentfarm.s3.endpoint", s3.endpoint().toString(),
                "latentfarm.s3.access-key", s3.accessKey(),
                "latentfarm.s3.secret-key", s3.secretKey(),
                "latentfarm.worker.model", model.toString(),
                "latentfarm.worker.worker-id", id,
                "latentfarm.worker.device", "cpu",
                "latentfarm.worker.dtype", dtype);
    }

    @Test
    void healthSaysTheModelIsLoadedAndWhere() throws Exception {
        Path model = Path.of(System.getProperty("latentfarm.fixtures", "../fixtures"), "tiny-sd-v1");
        try (EmbeddedServer server = worker(model, "svc-worker", "bf16")) {
            JsonNode health = awaitHealth(server.getURI(), "UP");
            JsonNode worker = health.path("details").path("worker").path("details");
            assertTrue(worker.path("modelLoaded").asBoolean(), health.toString());
            assertEquals("loaded", worker.path("modelState").asText(), health.toString());
            assertEquals("tiny-sd-v1", worker.path("model").asText(), health.toString());
            assertEquals("cpu", worker.path("device").asText(), health.toString());
            assertEquals("bf16", worker.path("dtype").asText(), health.toString());
            assertEquals("svc-worker", worker.path("workerId").asText(), health.toString());

            String metrics = get(server.getURI().resolve("/prometheus")).body();
            for (String name : new String[]{"latentfarm_images_rendered_total", "latentfarm_images_failed_total",
                    "latentfarm_render_seconds_bucket{phase=", "latentfarm_unet_step_seconds_count",
                    "latentfarm_model_load_seconds ", "jvm_memory_used_bytes", "process_cpu_usage"}) {
                assertTrue(metrics.contains(name), name + " missing from /prometheus:\n" + metrics);
            }
            assertTrue(metrics.contains("phase=\"denoise\"") && metrics.contains("phase=\"upload\""), metrics);
        }
    }

    /**
     * Two jobs packed into one call ({@code max-batch} 2) on the real pipeline: each job's step
     * progress counts its own 15 steps of the 15 asked for (PNDM's 16 model calls included), as a
     * job rendered alone does, and ends at 15 of 15; the results time the text encoder apart.
     */
    @Test
    void aPackedCallReportsEachJobsOwnStepsOfTheStepsAsked() throws Exception {
        Path model = Path.of(System.getProperty("latentfarm.fixtures", "../fixtures"), "tiny-sd-v1");
        Topics topics = new Topics("packed.");
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(topics.all().stream().map(n -> new NewTopic(n, 1, (short) 1)).toList()).all().get();
        }
        RenderRequest request = RenderRequest.builder().batchId("packed").prompt("a red fox").count(2).steps(15)
                .size(64, 64).seed(7L).scheduler("pndm").build();
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new StringSerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < 2; i++) { // both waiting before the worker polls: one call renders them
                RenderJob job = RenderJob.forImage(request, i, "batches/packed/images/000" + i + ".png");
                p.send(new ProducerRecord<>(topics.jobs(), job.jobId(), Json.toBytes(job))).get();
            }
        }
        Map<String, Object> props = new HashMap<>(properties(model, "svc-packed", "auto"));
        props.put("latentfarm.kafka.topic-prefix", topics.prefix());
        props.put("latentfarm.worker.max-batch", 2);
        props.put("latentfarm.worker.progress-interval", "0s"); // every step's event
        List<ConsumerRecord<String, byte[]>> results;
        try (EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, props, "worker")) {
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while ((results = kafka.readAll(topics.results(), false)).size() < 2) {
                assertTrue(System.nanoTime() < deadline, "no results for the packed jobs");
                Thread.sleep(100);
            }
        }
        for (ConsumerRecord<String, byte[]> r : results) {
            RenderResult.Timings t = Json.renderResult(r.value()).timings();
            assertTrue(t.encodeMs() > 0 && t.encodeMs() + t.denoiseMs() <= t.totalMs(), t.toString());
        }
        Map<String, List<Integer>> steps = new TreeMap<>();
        for (ConsumerRecord<String, byte[]> r : kafka.readAll(topics.events(), false)) {
            BatchEvent e = Json.batchEvent(r.value());
            assertEquals(15, e.steps(), e.toString());
            steps.computeIfAbsent(e.jobId(), k -> new ArrayList<>()).add(e.step());
        }
        List<Integer> all = IntStream.rangeClosed(1, 15).boxed().toList();
        assertEquals(Map.of("packed/0000", all, "packed/0001", all), steps);
    }

    /** {@code renderer: synthetic} needs no model: health is UP with the synthetic renderer; a bad renderer name fails the start naming the setting. */
    @Test
    void syntheticRendererLoadsNoModelAndIsUp() throws Exception {
        try (EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, Map.of(
                "micronaut.server.port", -1,
                "latentfarm.kafka.bootstrap", kafka.bootstrapServers(),
                "latentfarm.s3.endpoint", s3.endpoint().toString(),
                "latentfarm.s3.access-key", s3.accessKey(),
                "latentfarm.s3.secret-key", s3.secretKey(),
                "latentfarm.worker.renderer", "synthetic",
                "latentfarm.worker.synthetic-render-ms", 5,
                "latentfarm.worker.worker-id", "svc-synthetic"), "worker")) {
            JsonNode health = awaitHealth(server.getURI(), "UP");
            JsonNode worker = health.path("details").path("worker").path("details");
            assertEquals(SyntheticRenderer.MODEL_ID, worker.path("model").asText(), health.toString());
            assertEquals("none", worker.path("dtype").asText(), health.toString());
            SyntheticRenderer renderer = (SyntheticRenderer) server.getApplicationContext().getBean(ImageRenderer.class);
            assertEquals(Duration.ofMillis(5), renderer.renderTime());
        }
        RuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                () -> ApplicationContext.run(EmbeddedServer.class, Map.of(
                        "micronaut.server.port", -1,
                        "latentfarm.kafka.bootstrap", kafka.bootstrapServers(),
                        "latentfarm.worker.renderer", "magic"), "worker").close());
        String message = java.util.stream.Stream.iterate((Throwable) e, t -> t != null, Throwable::getCause)
                .map(String::valueOf).reduce("", String::concat);
        assertTrue(message.contains("latentfarm.worker.renderer: \"magic\" is not one of pipeline, synthetic"), message);
    }

    @Test
    void healthIsDownAfterAFailedLoadAndSaysWhy() throws Exception {
        Path missing = dir.resolve("no-such-model");
        try (EmbeddedServer server = worker(missing, "svc-broken")) {
            JsonNode health = awaitHealth(server.getURI(), "DOWN");
            JsonNode worker = health.path("details").path("worker").path("details");
            // DOWN while loading too; wait for the load to have failed.
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!worker.path("modelState").asText().equals("failed") && System.nanoTime() < deadline) {
                Thread.sleep(100);
                health = awaitHealth(server.getURI(), "DOWN");
                worker = health.path("details").path("worker").path("details");
            }
            assertEquals("failed", worker.path("modelState").asText(), health.toString());
            assertFalse(worker.path("modelLoaded").asBoolean(), health.toString());
            assertFalse(worker.path("running").asBoolean(), health.toString());
            assertTrue(worker.path("failure").asText().contains("no-such-model"), health.toString());
            assertEquals("no-such-model", worker.path("model").asText(), health.toString());
        }
    }

    /** Polls /health until its status is {@code status}; a worker is DOWN (503) while its model loads. */
    private JsonNode awaitHealth(URI base, String status) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            HttpResponse<String> r = get(base.resolve("/health"));
            JsonNode h = Json.newMapper().readTree(r.body());
            if (h.path("status").asText().equals(status)) {
                assertEquals(status.equals("UP") ? 200 : 503, r.statusCode(), r.body());
                return h;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("health never " + status + ": " + r.body());
            }
            Thread.sleep(100);
        }
    }

    private HttpResponse<String> get(URI uri) throws Exception {
        return http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    }
}
