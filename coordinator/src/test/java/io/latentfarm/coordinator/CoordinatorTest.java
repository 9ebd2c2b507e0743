package io.latentfarm.coordinator;

import io.latentfarm.client.BatchClient;
import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.Topics;
import io.latentfarm.common.image.Grid;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RecordLimits;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.embedded.EmbeddedKafka;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The coordinator on a real broker and S3 server, with a stand-in worker (flat-colour images): the
 * protocol, state and exactly-once behaviour, independent of the model.
 */
class CoordinatorTest {
    static final EmbeddedKafka kafka = Infra.KAFKA;
    static final ObjectStore store = Infra.STORE;

    static CoordinatorSettings settings(String prefix) {
        return CoordinatorSettings.builder().bootstrap(kafka.bootstrapServers()).topics(new Topics(prefix))
                .groupId("latentfarm-coordinator").transactionalId("coordinator-" + prefix)
                .partitions(3).jobPartitions(4).createTopics(true).maxAttempts(3).reissueAfter(Duration.ofMinutes(30))
                .window(64).maxGridImages(64).maxListedImages(1024).build();
    }

    static CoordinatorSettings withGroup(CoordinatorSettings s, String prefix) {
        return s.toBuilder().groupId("coordinators-" + prefix).build();
    }

    static RenderRequest request(String batchId) {
        return RenderRequest.builder().batchId(batchId).prompt("a red fox").grid(2, 2).steps(2).size(64, 64)
                .seed(42L).build();
    }

    static BatchEvent awaitFinal(BatchClient client, String batchId, List<BatchEvent> seen) {
        try (BatchClient.Events events = client.events(batchId, true)) {
            return events.awaitFinal(Duration.ofSeconds(60), seen::add)
                    .orElseThrow(() -> new AssertionError("no final event for " + batchId + "; saw " + seen));
        }
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void completesGridAndManifestWithEventsInOrder() throws Exception {
        String prefix = "t1.";
        Topics topics = new Topics(prefix);
        try (Coordinator coordinator = new Coordinator(withGroup(settings(prefix), prefix), store).start();
             FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, j -> false, j -> false);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            client.submit(request("b-ok"));
            List<BatchEvent> seen = new ArrayList<>();
            BatchEvent done = awaitFinal(client, "b-ok", seen);

            assertEquals(BatchEvent.Type.COMPLETED, done.type(), seen.toString());
            assertEquals(List.of(BatchEvent.Type.ACCEPTED, BatchEvent.Type.PROGRESS, BatchEvent.Type.PROGRESS,
                    BatchEvent.Type.PROGRESS, BatchEvent.Type.COMPLETED), seen.stream().map(BatchEvent::type).toList());
            assertEquals(4, done.imageKeys().size());
            assertEquals("batches/b-ok/images/0003.png", done.imageKeys().get(3));
            assertEquals(List.of("negativePrompt: image 0", "prompt: read by a fake worker"), done.warnings());
            assertTrue(seen.stream().filter(e -> e.type() == BatchEvent.Type.PROGRESS)
                    .allMatch(e -> e.warnings() != null && e.warnings().contains("prompt: read by a fake worker")), seen.toString());

            List<RgbImage> images = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                images.add(FakeWorker.imageFor(i, 64, 64));
            }
            assertEquals(Grid.compose(images, 2, 2), Png.decode(store.get(done.gridKey())));

            JsonNode manifest = Json.newMapper().readTree(store.get(done.manifestKey()));
            assertEquals("fake-model", manifest.path("model").asText());
            assertEquals("euler_karras", manifest.path("scheduler").asText(), "the sampler the workers ran");
            assertEquals("euler_karras", manifest.path("images").get(0).path("scheduler").asText());
            assertTrue(manifest.path("request").path("scheduler").isMissingNode(), "the request named none");
            assertEquals(4, manifest.path("images").size());
            JsonNode image2 = manifest.path("images").get(2);
            assertEquals(42, image2.path("seed").asLong());
            assertEquals(4, image2.path("batchSize").asInt());
            assertEquals(2, image2.path("sliceIndex").asInt());
            assertEquals(42, manifest.path("request").path("seed").asLong());
            assertEquals(done.warnings(), strings(manifest.path("warnings")));
            assertEquals(List.of("prompt: read by a fake worker"), strings(image2.path("warnings")));

            BatchSummary state = coordinator.batch("b-ok").orElseThrow();
            assertEquals(BatchSummary.Status.COMPLETED, state.status());
            assertEquals(4, state.done());
            assertEquals(List.of(), state.inFlight());
            List<String> lines = new String(store.get(state.manifestLinesKey()), StandardCharsets.UTF_8).lines().toList();
            assertEquals(4, lines.size());
            assertEquals(Json.newMapper().readTree(lines.get(2)), image2, "manifest.jsonl line 2 = manifest.json image 2");
        }
    }

    /**
     * A grid is composed only for rows x cols within max-grid-images: beyond it, and without rows x
     * cols, the batch gets its manifests and no grid; image keys are still listed (small batches).
     */
    @Test
    void noGridBeyondMaxGridImagesOrWithoutRowsAndCols() throws Exception {
        String prefix = "t10.";
        Topics topics = new Topics(prefix);
        try (Coordinator coordinator = new Coordinator(withGroup(settings(prefix), prefix).toBuilder().maxGridImages(4).build(), store)
                .start();
             FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, j -> false, j -> false);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            client.submit(request("b-wide").toBuilder().grid(2, 3).build());
            client.submit(request("b-count").toBuilder().grid(null, null).count(3).build());
            for (String id : List.of("b-wide", "b-count")) {
                BatchEvent done = awaitFinal(client, id, new ArrayList<>());
                assertEquals(BatchEvent.Type.COMPLETED, done.type(), done.toString());
                assertEquals(null, done.gridKey(), id);
                assertFalse(store.exists(new io.latentfarm.common.storage.ObjectKeys("").grid(id)), id);
                JsonNode manifest = Json.newMapper().readTree(store.get(done.manifestKey()));
                assertTrue(manifest.path("grid").isMissingNode(), manifest.toString());
                assertEquals(done.imageKeys().size(), manifest.path("images").size());
                assertEquals(done.imageKeys().size(), new String(store.get(manifest.path("lines").asText()),
                        StandardCharsets.UTF_8).lines().count());
            }
        }
    }

    @Test
    void rejectsBadAndUndecodableRequestsAndGoesOn() throws Exception {
        String prefix = "t2.";
        Topics topics = new Topics(prefix);
        try (Coordinator coordinator = new Coordinator(withGroup(settings(prefix), prefix), store).start();
             FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, j -> false, j -> false);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            client.submit(request("b-bad").toBuilder().steps(0).size(100, 64).build());
            client.send("b-garbage", "{\"prompt\": \"x\",, oops".getBytes(StandardCharsets.UTF_8));
            client.send("b-typed", "{\"prompt\": \"x\", \"steps\": \"many\"}".getBytes(StandardCharsets.UTF_8));
            client.submit(request("b-good"));

            BatchEvent bad = awaitFinal(client, "b-bad", new ArrayList<>());
            assertEquals(BatchEvent.Type.REJECTED, bad.type());
            assertEquals(List.of("steps", "width"), bad.violations().stream().map(v -> v.field()).toList());
            assertTrue(bad.reason().contains("steps: 0 is outside 1..150"), bad.reason());

            BatchEvent garbage = awaitFinal(client, "b-garbage", new ArrayList<>());
            assertEquals(BatchEvent.Type.REJECTED, garbage.type());
            assertTrue(garbage.reason().contains("not valid JSON"), garbage.reason());
            BatchEvent typed = awaitFinal(client, "b-typed", new ArrayList<>());
            assertEquals("steps", typed.violations().get(0).field(), typed.reason());

            assertEquals(BatchEvent.Type.COMPLETED, awaitFinal(client, "b-good", new ArrayList<>()).type());
            List<ConsumerRecord<String, byte[]>> dlq = readAll(topics.jobsDlq(), true);
            assertEquals(java.util.Set.of("b-garbage", "b-typed"), dlq.stream().map(ConsumerRecord::key).collect(java.util.stream.Collectors.toSet()));
            assertNotNull(dlq.get(0).headers().lastHeader("latentfarm.error"));
            assertFalse(coordinator.batch("b-bad").isPresent());
        }
    }

    @Test
    void failedJobsAreRetriedThenDeadLetteredAndPermanentFailuresAtOnce() throws Exception {
        String prefix = "t3.";
        Topics topics = new Topics(prefix);
        Predicate<RenderJob> fail = j -> j.batchId().equals("b-doomed") && j.index() == 1
                || j.batchId().equals("b-flaky") && j.index() == 3 && j.attempt() == 1
                || j.batchId().equals("b-invalid") && j.index() == 2;
        CoordinatorSettings s = withGroup(settings(prefix), prefix).toBuilder().maxAttempts(2).build();
        try (Coordinator coordinator = new Coordinator(s, store).start();
             FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, fail, j -> false);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            client.submit(request("b-flaky"));
            client.submit(request("b-doomed"));
            assertEquals(BatchEvent.Type.COMPLETED, awaitFinal(client, "b-flaky", new ArrayList<>()).type());
            BatchEvent doomed = awaitFinal(client, "b-doomed", new ArrayList<>());
            assertEquals(BatchEvent.Type.FAILED, doomed.type());
            assertTrue(doomed.reason().contains("image 1 failed after 2 attempts: simulated failure"), doomed.reason());
            client.submit(request("b-invalid"));
            BatchEvent invalid = awaitFinal(client, "b-invalid", new ArrayList<>());
            assertEquals(BatchEvent.Type.FAILED, invalid.type());
            assertTrue(invalid.reason().endsWith("image 2 failed: simulated failure"), "no retry: " + invalid.reason());
            List<ConsumerRecord<String, byte[]>> dlq = readAll(topics.jobsDlq(), true);
            assertEquals(2, dlq.size());
            RenderJob dead = Json.renderJob(dlq.get(0).value());
            assertEquals("b-doomed/0001", dead.jobId());
            assertEquals(2, dead.attempt());
            RenderJob permanent = Json.renderJob(dlq.get(1).value());
            assertEquals("b-invalid/0002", permanent.jobId());
            assertEquals(1, permanent.attempt(), "a permanent failure is not retried");
        }
    }

    @Test
    void reissuesMissingJobsAfterTheDeadline() throws Exception {
        String prefix = "t4.";
        Topics topics = new Topics(prefix);
        try (Coordinator coordinator = new Coordinator(withGroup(settings(prefix), prefix)
                .toBuilder().reissueAfter(Duration.ofSeconds(2)).build(), store).start();
             FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, j -> false,
                     j -> j.index() == 2 && j.attempt() == 1);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            client.submit(request("b-lost"));
            assertEquals(BatchEvent.Type.COMPLETED, awaitFinal(client, "b-lost", new ArrayList<>()).type());
            assertEquals(2, coordinator.recentImage("b-lost", 2).orElseThrow().attempt());
            assertEquals(1, coordinator.batch("b-lost").orElseThrow().retried());
        }
    }

    /**
     * The coordinator dies after writing the completion (grid, manifest, completed event, state)
     * but before committing it; its successor fences it, rebuilds the batch from the state topic,
     * reprocesses the last result and completes the batch: read_committed readers see one
     * completed event, read_uncommitted ones also the aborted one.
     */
    @Test
    void coordinatorKilledBeforeCommittingCompletionCompletesExactlyOnce() throws Exception {
        String prefix = "t5.";
        Topics topics = new Topics(prefix);
        CoordinatorSettings s = withGroup(settings(prefix), prefix);
        try (FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, j -> false, j -> false);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            Coordinator first = new CrashingCoordinator(s, store, (c, completing) -> completing.contains("b-crash"));
            first.start();
            client.submit(request("b-crash"));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (first.isRunning() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertFalse(first.isRunning(), "the coordinator should have crashed before committing");
            first.close();

            try (Coordinator second = new Coordinator(s, store).start()) {
                List<BatchEvent> seen = new ArrayList<>();
                assertEquals(BatchEvent.Type.COMPLETED, awaitFinal(client, "b-crash", seen).type());
                assertEquals(BatchSummary.Status.COMPLETED, second.batch("b-crash").orElseThrow().status());
                awaitConsumed(s.groupId(), topics.results()); // the results are all processed: nothing more comes
            }
            assertEquals(1, countCompleted(topics, "b-crash", true));
            assertEquals(2, countCompleted(topics, "b-crash", false));
        }
    }

    /**
     * A batch cancelled with two of four images in: one cancelled event (and a record on the cancels
     * topic), no completed event when the other two images arrive after all, no more jobs issued,
     * and still cancelled after a restart. Cancels of a finished or unknown batch, and requests of
     * an unknown type, are rejected naming the field.
     */
    @Test
    void cancelledMidBatchNeverCompletesAndStaysCancelledAfterARestart() throws Exception {
        String prefix = "t6.";
        Topics topics = new Topics(prefix);
        CoordinatorSettings s = withGroup(settings(prefix), prefix).toBuilder().reissueAfter(Duration.ofSeconds(1)).build();
        // Images 2 and 3 are held back; the test delivers them once the batch is cancelled.
        try (FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, j -> false,
                j -> j.batchId().equals("b-cancel") && j.index() >= 2);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            long jobsAtCancel;
            long cancelledAt;
            try (Coordinator coordinator = new Coordinator(s, store).start();
                 BatchClient.Events events = client.events("b-cancel", true)) {
                client.submit(request("b-cancel"));
                int done = 0;
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (done < 2 && System.nanoTime() < deadline) {
                    for (BatchEvent e : events.poll(Duration.ofMillis(100))) {
                        done = e.type() == BatchEvent.Type.PROGRESS && e.done() != null ? e.done() : done;
                    }
                }
                assertEquals(2, done);
                client.cancel("b-cancel", "changed my mind");
                BatchEvent cancelled = events.awaitFinal(Duration.ofSeconds(60), e -> { }).orElseThrow();
                cancelledAt = System.nanoTime();
                assertEquals(BatchEvent.Type.CANCELLED, cancelled.type(), cancelled.toString());
                assertEquals("changed my mind", cancelled.reason());
                jobsAtCancel = countJobs(topics, "b-cancel");

                for (RenderJob job : worker.seen) {
                    if (job.batchId().equals("b-cancel") && job.index() >= 2) {
                        worker.publish(job, false); // too late: ignored
                    }
                }
                client.cancel("b-cancel", null);
                client.cancel("b-never", null);
                client.send("b-odd", "{\"type\":\"pause\",\"batchId\":\"b-odd\"}".getBytes(StandardCharsets.UTF_8));
                BatchEvent again = events.awaitFinal(Duration.ofSeconds(60), e -> { }).orElseThrow();
                assertEquals(BatchEvent.Type.REJECTED, again.type(), again.toString());
                assertEquals("batchId: batch \"b-cancel\" is already cancelled; only a running batch can be cancelled",
                        again.reason());
                BatchEvent never = awaitFinal(client, "b-never", new ArrayList<>());
                assertEquals("batchId: no batch \"b-never\" to cancel (none was accepted with this id)",
                        never.reason());
                BatchEvent odd = awaitFinal(client, "b-odd", new ArrayList<>());
                assertEquals("type", odd.violations().get(0).field(), odd.reason());

                BatchSummary state = coordinator.batch("b-cancel").orElseThrow();
                assertEquals(BatchSummary.Status.CANCELLED, state.status());
                assertEquals("changed my mind", state.reason());
                assertEquals(2, state.done());
            }
            try (Coordinator second = new Coordinator(s, store).start()) {
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (second.batch("b-cancel").isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                BatchSummary rebuilt = second.batch("b-cancel").orElseThrow();
                assertEquals(BatchSummary.Status.CANCELLED, rebuilt.status());
                assertEquals("changed my mind", rebuilt.reason());
                worker.publish(worker.seen.stream().filter(j -> j.batchId().equals("b-cancel") && j.index() == 3)
                        .findFirst().orElseThrow(), false);
                awaitConsumed(s.groupId(), topics.results());
                // Past the re-issue deadline (1 s) plus a tick (1 s) since the cancel: nothing was re-issued.
                long sinceCancel = System.nanoTime() - cancelledAt;
                Thread.sleep(Math.max(0, Duration.ofMillis(2200).minusNanos(sinceCancel).toMillis()));
                assertEquals(BatchSummary.Status.CANCELLED, second.batch("b-cancel").orElseThrow().status());
                assertEquals(2, second.batch("b-cancel").orElseThrow().done());
            }
            List<BatchEvent.Type> types = readAll(topics.events(), true).stream()
                    .filter(r -> "b-cancel".equals(r.key())).map(r -> Json.batchEvent(r.value()).type()).toList();
            assertEquals(List.of(BatchEvent.Type.ACCEPTED, BatchEvent.Type.PROGRESS, BatchEvent.Type.PROGRESS,
                    BatchEvent.Type.CANCELLED, BatchEvent.Type.REJECTED), types);
            assertEquals(jobsAtCancel, countJobs(topics, "b-cancel"), "jobs issued after the cancel");
            List<ConsumerRecord<String, byte[]>> cancels = readAll(topics.cancels(), true);
            assertEquals(List.of("b-cancel"), cancels.stream().map(ConsumerRecord::key).toList());
            assertEquals("changed my mind", Json.batchEvent(cancels.get(0).value()).reason());
        }
    }

    /**
     * A request that passes validation but whose accepted event and jobs would be larger than
     * max-record-bytes fails its transaction; processed alone it fails again and is committed as a
     * dead letter with a {@code rejected} event, and the good request beside it completes.
     */
    @Test
    void aRecordThatFailsItsTransactionIsDeadLetteredAloneAndTheRestCommit() throws Exception {
        String prefix = "t7.";
        Topics topics = new Topics(prefix);
        // records of 4 KiB: a batch summary has room for a window of 8 images in flight
        CoordinatorSettings s = withGroup(settings(prefix), prefix).toBuilder().window(8)
                .recordLimits(new RecordLimits(4096, 4096, 256)).build();
        try (Coordinator coordinator = new Coordinator(s, store).start();
             FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, j -> false, j -> false);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            client.submit(request("b-poison").toBuilder().prompt("p".repeat(1900)).negativePrompt("n".repeat(1900))
                    .build());
            client.submit(request("b-fine"));
            assertEquals(BatchEvent.Type.COMPLETED, awaitFinal(client, "b-fine", new ArrayList<>()).type());
            BatchEvent poison = awaitFinal(client, "b-poison", new ArrayList<>());
            assertEquals(BatchEvent.Type.REJECTED, poison.type(), poison.toString());
            assertEquals("request", poison.violations().get(0).field());
            assertTrue(poison.reason().contains("could not be processed")
                    && poison.reason().contains("more than max-record-bytes 4096"), poison.reason());
            List<ConsumerRecord<String, byte[]>> dlq = readAll(topics.jobsDlq(), true);
            assertEquals(List.of("b-poison"), dlq.stream().map(ConsumerRecord::key).toList());
            assertTrue(new String(dlq.get(0).headers().lastHeader("latentfarm.error").value(), StandardCharsets.UTF_8)
                    .contains("more than max-record-bytes"));
            assertFalse(coordinator.batch("b-poison").isPresent());
            assertEquals(0, countJobs(topics, "b-poison"));
            assertTrue(coordinator.isRunning());
        }
    }

    /** Limits the producer cannot honour are refused on start, naming both settings. */
    @Test
    void recordLimitsBeyondTheProducersRequestSizeAreRefused() {
        String prefix = "t8.";
        CoordinatorSettings s = withGroup(settings(prefix), prefix).toBuilder()
                .kafka(Map.of("max.request.size", "100000")).build();
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new Coordinator(s, store).start());
        assertTrue(e.getMessage().contains("max-record-bytes 524288")
                && e.getMessage().contains("max.request.size 100000"), e.getMessage());
    }

    /**
     * Another producer with the coordinator's transactional id fences it (as after a transaction
     * timeout): the coordinator starts a new producer and the next batch completes.
     */
    @Test
    void aFencedProducerIsReplacedAndTheLoopGoesOn() throws Exception {
        String prefix = "t9.";
        Topics topics = new Topics(prefix);
        CoordinatorSettings s = withGroup(settings(prefix), prefix);
        try (Coordinator coordinator = new Coordinator(s, store).start();
             FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, j -> false, j -> false);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            client.submit(request("b-before"));
            assertEquals(BatchEvent.Type.COMPLETED, awaitFinal(client, "b-before", new ArrayList<>()).type());
            try (KafkaProducer<String, byte[]> zombie = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                    ProducerConfig.TRANSACTIONAL_ID_CONFIG, s.transactionalId()),
                    new StringSerializer(), new ByteArraySerializer())) {
                zombie.initTransactions();
            }
            client.submit(request("b-after"));
            assertEquals(BatchEvent.Type.COMPLETED, awaitFinal(client, "b-after", new ArrayList<>()).type());
            assertTrue(coordinator.isRunning(), "stopped: " + coordinator.failure());
            assertEquals(1, countCompleted(topics, "b-after", true));
        }
    }

    /** Waits until the coordinators' group has committed offsets up to the end of the topic. */
    static void awaitConsumed(String group, String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
             KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of(
                     ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                     new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = c.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline) {
                Map<TopicPartition, OffsetAndMetadata> at = admin.listConsumerGroupOffsets(group)
                        .partitionsToOffsetAndMetadata().get();
                if (tps.stream().allMatch(tp -> end.get(tp) == 0
                        || at.get(tp) != null && at.get(tp).offset() >= end.get(tp))) {
                    return;
                }
                Thread.sleep(50);
            }
            throw new AssertionError("group " + group + " did not consume " + topic + " to " + end);
        }
    }

    static long countJobs(Topics topics, String batchId) {
        return readAll(topics.jobs(), true).stream().filter(r -> r.key().startsWith(batchId + "/")).count();
    }

    static long countCompleted(Topics topics, String batchId, boolean committed) {
        return readAll(topics.events(), committed).stream()
                .filter(r -> batchId.equals(r.key()))
                .map(r -> Json.batchEvent(r.value()))
                .filter(e -> e.type() == BatchEvent.Type.COMPLETED)
                .count();
    }

    static List<ConsumerRecord<String, byte[]>> readAll(String topic, boolean readCommitted) {
        return kafka.readAll(topic, readCommitted);
    }
}
