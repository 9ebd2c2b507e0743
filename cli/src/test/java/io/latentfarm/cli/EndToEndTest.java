package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.Topics;
import io.latentfarm.common.image.Grid;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.BatchClient;
import io.latentfarm.coordinator.Coordinator;
import io.latentfarm.coordinator.CoordinatorSettings;
import io.latentfarm.embedded.EmbeddedKafka;
import io.latentfarm.embedded.EmbeddedS3;
import io.latentfarm.model.pipeline.PipelineOptions;
import io.latentfarm.worker.service.JobWorker;
import io.latentfarm.worker.service.PipelineRenderer;
import io.latentfarm.worker.service.WorkerSettings;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The product end to end on real infrastructure (an in-process KRaft broker and S3Proxy) with the
 * real pipeline on the fixture model: coordinator, workers and the CLI.
 */
class EndToEndTest {
    static final Path MODEL = Path.of(System.getProperty("latentfarm.fixtures", "../fixtures"), "tiny-sd-v1");

    @TempDir
    static Path dir;
    static EmbeddedKafka kafka;
    static EmbeddedS3 s3;
    static ObjectStore store;
    static PipelineRenderer renderer;

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        s3 = EmbeddedS3.start(dir.resolve("s3"));
        store = ObjectStore.open(s3.objectStoreConfig());
        renderer = PipelineRenderer.load(MODEL, PipelineOptions.cpu(), null);
    }

    @AfterAll
    static void stop() {
        if (renderer != null) renderer.close();
        if (store != null) store.close();
        if (s3 != null) s3.close();
        if (kafka != null) kafka.close();
    }

    static CoordinatorSettings coordinatorSettings(String prefix, int jobPartitions) {
        return coordinatorSettings(kafka.bootstrapServers(), new Topics(prefix), "coordinators-" + prefix,
                "coordinator-" + prefix, jobPartitions);
    }

    static CoordinatorSettings coordinatorSettings(String bootstrap, Topics topics, String groupId,
                                                   String transactionalId, int jobPartitions) {
        return CoordinatorSettings.builder().bootstrap(bootstrap).topics(topics).groupId(groupId)
                .transactionalId(transactionalId).partitions(3).jobPartitions(jobPartitions).createTopics(true)
                .maxAttempts(3).reissueAfter(Duration.ofMinutes(30)).window(64).maxGridImages(64)
                .maxListedImages(1024).build();
    }

    static WorkerSettings workerSettings(String prefix, String id) {
        return workerSettings(kafka.bootstrapServers(), new Topics(prefix), "workers-" + prefix, id);
    }

    static WorkerSettings workerSettings(String bootstrap, Topics topics, String groupId, String id) {
        return WorkerSettings.builder().bootstrap(bootstrap).topics(topics).groupId(groupId).workerId(id).maxBatch(1)
                .progressInterval(Duration.ofMillis(200)).shutdownGrace(Duration.ofSeconds(10))
                .retryBackoff(Duration.ofSeconds(1)).sessionTimeout(Duration.ofSeconds(10)).build();
    }

    /** The fixture's long_truncated tokenizer case: 85 CLIP tokens (reference/cases.json). */
    static final String LONG_PROMPT = "A highly detailed matte painting of an ancient Moroccan city at golden hour, intricate"
            + " carved wooden doors, colorful mosaic tiles, bustling markets full of spices, lanterns, rugs and brass"
            + " teapots, dramatic clouds, volumetric light, cinematic composition, ultra wide angle, trending on"
            + " artstation, by studio ghibli and greg rutkowski, masterpiece, best quality, 8k resolution, sharp focus,"
            + " vivid colors, award winning photograph";
    static final String LONG_PROMPT_WARNING = "prompt: 85 CLIP tokens, truncated to 77";

    static BatchEvent awaitFinal(BatchClient client, String batchId, List<BatchEvent> seen) {
        try (BatchClient.Events events = client.events(batchId, true)) {
            return events.awaitFinal(Duration.ofSeconds(120), seen::add)
                    .orElseThrow(() -> new AssertionError("no final event for " + batchId + "; saw " + seen));
        }
    }

    /**
     * A 2x2 grid over Kafka and S3: every image byte-identical to what {@code latentfarm generate}
     * writes for the same request (the pipeline, Png.encode with the same parameters), and the grid
     * byte-identical too. Submitted, awaited and downloaded with {@code latentfarm submit --wait --download}.
     */
    @Test
    void twoByTwoGridIsByteIdenticalToGenerate() throws Exception {
        String prefix = "e1.";
        Path generated = dir.resolve("generated");
        CliTestSupport.Run gen = CliTestSupport.run("generate", "--model", MODEL.toString(), "--prompt", "Craftsman, Moroccan Ghibli studio style",
                "--images-per-prompt", "4", "--rows", "2", "--cols", "2", "--steps", "3", "--width", "64",
                "--height", "64", "--seed", "1024", "--scheduler", "pndm", "--out", generated.toString());
        assertEquals(0, gen.code(), gen.err());

        Path downloaded = dir.resolve("downloaded");
        try (Coordinator coordinator = new Coordinator(coordinatorSettings(prefix, 4), store).start();
             JobWorker worker = new JobWorker(workerSettings(prefix, "w-e1"), renderer, store).start()) {
            CliTestSupport.Run submit = CliTestSupport.run("submit", "--bootstrap", kafka.bootstrapServers(), "--topic-prefix", prefix,
                    "--s3-endpoint", s3.endpoint().toString(), "--bucket", s3.bucket(),
                    "--access-key", s3.accessKey(), "--secret-key", s3.secretKey(),
                    "--prompt", "Craftsman, Moroccan Ghibli studio style", "--rows", "2", "--cols", "2",
                    "--steps", "3", "--width", "64", "--height", "64", "--seed", "1024", "--batch-id", "grid-2x2",
                    "--wait", "--download", downloaded.toString());
            assertEquals(0, submit.code(), submit.out() + submit.err());
            assertTrue(submit.out().contains("batch grid-2x2 submitted (4 image(s))"), submit.out());
            assertTrue(submit.out().contains("grid:     s3://latentfarm/batches/grid-2x2/grid.png"), submit.out());
        }
        List<RgbImage> images = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String name = String.format("%04d.png", i);
            byte[] expected = Files.readAllBytes(generated.resolve(name));
            byte[] actual = store.get("batches/grid-2x2/images/" + name);
            assertArrayEquals(expected, actual, "image " + i + " differs from latentfarm generate's");
            assertArrayEquals(expected, Files.readAllBytes(downloaded.resolve(name)));
            images.add(Png.decode(actual));
        }
        byte[] grid = store.get("batches/grid-2x2/grid.png");
        assertEquals(Grid.compose(images, 2, 2), Png.decode(grid));
        assertArrayEquals(Files.readAllBytes(generated.resolve("grid.png")), grid);

        JsonNode manifest = Json.newMapper().readTree(Files.readAllBytes(downloaded.resolve("manifest.json")));
        assertEquals("tiny-sd-v1", manifest.path("model").asText());
        assertEquals(1024, manifest.path("images").get(3).path("seed").asLong());
        assertEquals(3, manifest.path("images").get(3).path("sliceIndex").asInt());
        assertEquals("cpu", manifest.path("images").get(3).path("device").asText(), "the device that drew it");
        assertEquals("fp32", manifest.path("images").get(3).path("dtype").asText(), "and the precision");
        assertTrue(Png.readParameters(images.isEmpty() ? null : store.get("batches/grid-2x2/images/0003.png"))
                .orElseThrow().contains("Seed: 1024, Size: 64x64, Model: tiny-sd-v1, Batch size: 4, Batch pos: 3"));

        Path fetched = dir.resolve("fetched");
        CliTestSupport.Run fetch = CliTestSupport.run("fetch", "grid-2x2", "--out", fetched.toString(), "--s3-endpoint", s3.endpoint().toString(),
                "--bucket", s3.bucket(), "--access-key", s3.accessKey(), "--secret-key", s3.secretKey());
        assertEquals(0, fetch.code(), fetch.err());
        for (String f : List.of("0000.png", "0003.png", "grid.png", "manifest.json")) {
            assertArrayEquals(Files.readAllBytes(downloaded.resolve(f)), Files.readAllBytes(fetched.resolve(f)), f);
        }

        CliTestSupport.Run status = CliTestSupport.run("status", "--bootstrap", kafka.bootstrapServers(), "--topic-prefix", prefix, "grid-2x2");
        assertEquals(0, status.code(), status.err());
        assertTrue(status.out().contains("completed: batch grid-2x2"), status.out());
    }

    /** Twelve images over three workers in one group: each renders some, the batch completes once. */
    @Test
    void threeWorkersShareATwelveImageBatch() throws Exception {
        String prefix = "e2.";
        Topics topics = new Topics(prefix);
        try (Coordinator coordinator = new Coordinator(coordinatorSettings(prefix, 6), store).start();
             JobWorker w1 = new JobWorker(workerSettings(prefix, "w-a"), renderer, store).start();
             JobWorker w2 = new JobWorker(workerSettings(prefix, "w-b"), renderer, store).start();
             JobWorker w3 = new JobWorker(workerSettings(prefix, "w-c"), renderer, store).start();
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            awaitGroup("workers-" + prefix, 3);
            RenderRequest request = RenderRequest.builder().batchId("twelve").prompts(List.of("a cat", "a dog"))
                    .grid(3, 4).steps(2).size(64, 64).seed(5L).build();
            client.submit(request);
            List<BatchEvent> seen = new ArrayList<>();
            BatchEvent done = awaitFinal(client, "twelve", seen);
            assertEquals(BatchEvent.Type.COMPLETED, done.type(), seen.toString());
            assertEquals(12, done.imageKeys().size());

            JsonNode manifest = Json.newMapper().readTree(store.get(done.manifestKey()));
            Set<String> workers = new HashSet<>();
            manifest.path("images").forEach(i -> workers.add(i.path("workerId").asText()));
            assertEquals(Set.of("w-a", "w-b", "w-c"), workers, "every worker should have rendered some images");
            assertEquals("a dog", manifest.path("images").get(6).path("prompt").asText());

            List<RgbImage> images = new ArrayList<>();
            for (String key : done.imageKeys()) {
                images.add(Png.decode(store.get(key)));
            }
            assertEquals(Grid.compose(images, 3, 4), Png.decode(store.get(done.gridKey())));
            assertEquals(1, seen.stream().filter(e -> e.type() == BatchEvent.Type.COMPLETED).count());
        }
    }

    /**
     * A bad field gets a rejected event naming it (and exit code 2 from submit); the next request
     * completes, and as its prompt is over 77 CLIP tokens, the completed event, submit's output and
     * the manifest say it was truncated.
     */
    @Test
    void rejectedRequestNamesTheFieldAndTheNextOneCompletes() throws Exception {
        String prefix = "e3.";
        try (Coordinator coordinator = new Coordinator(coordinatorSettings(prefix, 3), store).start();
             JobWorker worker = new JobWorker(workerSettings(prefix, "w-e3"), renderer, store).start()) {
            CliTestSupport.Run bad = CliTestSupport.run("submit", "--bootstrap", kafka.bootstrapServers(), "--topic-prefix", prefix,
                    "--prompt", "x", "--count", "2", "--steps", "2", "--width", "60", "--height", "64", "--wait",
                    "--timeout", "PT60S");
            assertEquals(BatchWatch.EXIT_REJECTED, bad.code(), bad.out() + bad.err());
            assertTrue(bad.err().contains("rejected: width: 60 is not a multiple of 8"), bad.err());

            CliTestSupport.Run good = CliTestSupport.run("submit", "--bootstrap", kafka.bootstrapServers(), "--topic-prefix", prefix,
                    "--prompt", LONG_PROMPT, "--count", "2", "--steps", "2", "--width", "64", "--height", "64", "--wait",
                    "--timeout", "PT120S", "--batch-id", "long-prompt");
            assertEquals(0, good.code(), good.out() + good.err());
            assertTrue(good.out().contains("completed: batch "), good.out());
            assertTrue(good.out().lines().anyMatch(("warning: " + LONG_PROMPT_WARNING)::equals), good.out());

            BatchEvent completed = readAll(new Topics(prefix).events()).stream()
                    .filter(r -> "long-prompt".equals(r.key())).map(r -> Json.batchEvent(r.value()))
                    .filter(e -> e.type() == BatchEvent.Type.COMPLETED).findFirst().orElseThrow();
            assertEquals(List.of(LONG_PROMPT_WARNING), completed.warnings());
            JsonNode manifest = Json.newMapper().readTree(store.get(completed.manifestKey()));
            assertEquals(LONG_PROMPT_WARNING, manifest.path("warnings").path(0).asText(), manifest.toString());
            assertEquals(1, manifest.path("warnings").size());
        }
    }

    /**
     * The coordinator stops in the middle of a batch and a new one takes over from the state topic:
     * the batch completes, with exactly one committed completed event.
     */
    @Test
    void coordinatorRestartedMidBatchCompletesExactlyOnce() throws Exception {
        String prefix = "e4.";
        Topics topics = new Topics(prefix);
        try (JobWorker worker = new JobWorker(workerSettings(prefix, "w-e4"), renderer, store).start();
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            RenderRequest request = RenderRequest.builder().batchId("restart").prompt("a lighthouse").count(6)
                    .steps(3).size(64, 64).seed(11L).build();
            Coordinator first = new Coordinator(coordinatorSettings(prefix, 3), store).start();
            try (BatchClient.Events events = client.events("restart", true)) {
                client.submit(request);
                // Stop it once a couple of images are in.
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                int done = 0;
                while (done < 2 && System.nanoTime() < deadline) {
                    for (BatchEvent e : events.poll(Duration.ofMillis(100))) {
                        if (e.type() == BatchEvent.Type.PROGRESS && e.jobId() == null && e.done() != null) {
                            done = Math.max(done, e.done());
                        }
                    }
                }
                assertTrue(done >= 2 && done < 6, "stopped at " + done + " of 6 images");
            }
            first.close();
            BatchEvent done;
            try (Coordinator second = new Coordinator(coordinatorSettings(prefix, 3), store).start()) {
                done = awaitFinal(client, "restart", new ArrayList<>());
                TimeUnit.SECONDS.sleep(1);
            }
            assertEquals(BatchEvent.Type.COMPLETED, done.type());
            long completed = readAll(topics.events()).stream()
                    .filter(r -> "restart".equals(r.key()))
                    .filter(r -> Json.batchEvent(r.value()).type() == BatchEvent.Type.COMPLETED).count();
            assertEquals(1, completed);
        }
    }

    /**
     * {@code latentfarm cancel --wait} on a batch no worker has taken yet: it answers cancelled, the
     * {@code submit --wait} following the batch exits with {@code cancelled: <reason>}, {@code status}
     * says so, a second cancel is refused (exit 2), and a worker started afterwards renders none of
     * its images.
     */
    @Test
    void cancelFromTheCliEndsTheBatchAndWorkersSkipItsJobs() throws Exception {
        String prefix = "e5.";
        String bootstrap = kafka.bootstrapServers();
        try (Coordinator coordinator = new Coordinator(coordinatorSettings(prefix, 3), store).start();
             BatchClient client = new BatchClient(bootstrap, new Topics(prefix));
             BatchClient.Events events = client.events("to-cancel", true)) {
            CompletableFuture<CliTestSupport.Run> submit = CompletableFuture.supplyAsync(() -> CliTestSupport.run(
                    "submit", "--bootstrap", bootstrap, "--topic-prefix", prefix, "--prompt", "a lighthouse",
                    "--count", "3", "--steps", "2", "--width", "64", "--height", "64", "--batch-id", "to-cancel",
                    "--wait", "--timeout", "PT60S"));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            boolean accepted = false;
            while (!accepted && System.nanoTime() < deadline) {
                accepted = events.poll(Duration.ofMillis(100)).stream()
                        .anyMatch(e -> e.type() == BatchEvent.Type.ACCEPTED);
            }
            assertTrue(accepted, "no accepted event");

            CliTestSupport.Run cancel = CliTestSupport.run("cancel", "--bootstrap", bootstrap, "--topic-prefix", prefix,
                    "to-cancel", "--reason", "wrong prompt", "--wait", "--timeout", "PT60S");
            assertEquals(0, cancel.code(), cancel.out() + cancel.err());
            assertTrue(cancel.out().contains("cancelled: batch to-cancel (wrong prompt)"), cancel.out());

            CliTestSupport.Run submitted = submit.get(60, TimeUnit.SECONDS);
            assertEquals(BatchWatch.EXIT_CANCELLED, submitted.code(), submitted.out() + submitted.err());
            assertTrue(submitted.err().contains("cancelled: wrong prompt"), submitted.err());

            CliTestSupport.Run status = CliTestSupport.run("status", "--bootstrap", bootstrap, "--topic-prefix", prefix,
                    "to-cancel");
            assertEquals(BatchWatch.EXIT_CANCELLED, status.code(), status.out() + status.err());
            assertTrue(status.err().contains("cancelled: wrong prompt"), status.err());

            CliTestSupport.Run again = CliTestSupport.run("cancel", "--bootstrap", bootstrap, "--topic-prefix", prefix,
                    "to-cancel", "--wait", "--timeout", "PT60S");
            assertEquals(BatchWatch.EXIT_REJECTED, again.code(), again.out() + again.err());
            assertTrue(again.err().contains(
                    "cannot cancel batch to-cancel: batchId: batch \"to-cancel\" is already cancelled"), again.err());
            // The refused cancel does not change what status says.
            assertTrue(CliTestSupport.run("status", "--bootstrap", bootstrap, "--topic-prefix", prefix, "to-cancel")
                    .err().contains("cancelled: wrong prompt"));

            try (JobWorker worker = new JobWorker(workerSettings(prefix, "w-e5"), renderer, store).start()) {
                awaitConsumed("workers-" + prefix, new Topics(prefix).jobs());
                assertEquals(3, worker.status().skipped());
                assertEquals(0, worker.status().rendered());
            }
            assertEquals(List.of(), store.list("batches/to-cancel/"));
        }
    }

    /**
     * {@code latentfarm local} with the tiny random model: says so, writes images, grid and manifest,
     * and warns that the long prompt was truncated.
     */
    @Test
    void localRendersABatchInOneProcess() throws Exception {
        Path out = dir.resolve("local-out");
        CliTestSupport.Run run = CliTestSupport.run("local", "--model", "tiny", "--prompt", LONG_PROMPT, "--rows", "1", "--cols", "2",
                "--steps", "2", "--width", "64", "--height", "64", "--seed", "3", "--out", out.toString());
        assertEquals(0, run.code(), run.out() + run.err());
        assertTrue(run.out().lines().anyMatch(("warning: " + LONG_PROMPT_WARNING)::equals), run.out());
        assertTrue(run.out().contains("RANDOM weights"), run.out());
        assertTrue(run.out().contains("end-to-end: "), run.out());
        for (String f : List.of("0000.png", "0001.png", "grid.png", "manifest.json")) {
            assertTrue(Files.exists(out.resolve(f)), f + " missing: " + run.out());
        }
        assertEquals(128, Png.decode(Files.readAllBytes(out.resolve("grid.png"))).width());
    }

    /** {@code local --renderer synthetic}: no model anywhere; the images are the synthetic renderer's 8x8 stand-ins. */
    @Test
    void localWithTheSyntheticRendererLoadsNoModel() throws Exception {
        Path out = dir.resolve("local-synthetic");
        CliTestSupport.Run run = CliTestSupport.run("local", "--renderer", "synthetic", "--synthetic-render-ms", "1",
                "--prompt", "stand-in", "--count", "3", "--seed", "5", "--out", out.toString());
        assertEquals(0, run.code(), run.out() + run.err());
        assertTrue(run.out().contains("model: none (--renderer synthetic)"), run.out());
        for (int i = 0; i < 3; i++) {
            RgbImage image = Png.decode(Files.readAllBytes(out.resolve(String.format("%04d.png", i))));
            assertArrayEquals(io.latentfarm.worker.service.SyntheticRenderer.pixels(5, i, "stand-in"), image.pixels());
        }
        assertEquals("synthetic", Json.newMapper().readTree(out.resolve("manifest.json").toFile()).path("model").asText());
        CliTestSupport.Run bad = CliTestSupport.run("local", "--renderer", "magic", "--prompt", "x", "--out", out.toString());
        assertTrue(bad.err().contains("--renderer: \"magic\" is not one of pipeline, synthetic"), bad.err());
    }

    static void awaitGroup(String group, int members) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline) {
                ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
                if (d.members().size() == members
                        && d.members().stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty())) {
                    return;
                }
                Thread.sleep(200);
            }
            throw new AssertionError("group " + group + " did not reach " + members + " members with partitions");
        }
    }

    /** Waits until the group has committed offsets past every record of the topic (not its transaction markers). */
    static void awaitConsumed(String group, String topic) throws Exception {
        Map<TopicPartition, Long> last = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : readAll(topic)) {
            last.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::max);
        }
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline) {
                Map<TopicPartition, OffsetAndMetadata> at = admin.listConsumerGroupOffsets(group)
                        .partitionsToOffsetAndMetadata().get();
                if (last.entrySet().stream().allMatch(e -> at.get(e.getKey()) != null
                        && at.get(e.getKey()).offset() > e.getValue())) {
                    return;
                }
                Thread.sleep(100);
            }
            throw new AssertionError("group " + group + " did not consume " + topic + " past " + last);
        }
    }

    static List<ConsumerRecord<String, byte[]>> readAll(String topic) {
        return kafka.readAll(topic, true);
    }
}
