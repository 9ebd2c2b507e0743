package io.latentfarm.coordinator;

import io.latentfarm.client.BatchClient;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.embedded.EmbeddedKafka;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static io.latentfarm.coordinator.CoordinatorTest.awaitConsumed;
import static io.latentfarm.coordinator.CoordinatorTest.awaitFinal;
import static io.latentfarm.coordinator.CoordinatorTest.countCompleted;
import static io.latentfarm.coordinator.CoordinatorTest.countJobs;
import static io.latentfarm.coordinator.CoordinatorTest.settings;
import static io.latentfarm.coordinator.CoordinatorTest.withGroup;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Large batches on the real broker and S3 server, with the stand-in worker: the window, fairness
 * between batches, cancelling a million-image batch, and a coordinator killed in the middle of a
 * 10,000-image batch.
 */
class ScaleTest {
    static final EmbeddedKafka kafka = Infra.KAFKA;
    static final ObjectStore store = Infra.STORE;

    static RenderRequest large(String batchId, int count) {
        return RenderRequest.builder().batchId(batchId).prompt("a large dataset").grid(null, null).count(count)
                .steps(2).size(64, 64).seed(1L).build();
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    /**
     * A 4-image batch submitted while a 2,000-image batch has its window out queues behind that
     * window only, not behind 2,000 jobs: it completes while the large one has hardly begun.
     */
    @Test
    void aSmallBatchSubmittedBehindALargeOneOvertakesIt() throws Exception {
        String prefix = "s1.";
        Topics topics = new Topics(prefix);
        CoordinatorSettings s = withGroup(settings(prefix), prefix).toBuilder().window(8).build();
        try (Coordinator coordinator = new Coordinator(s, store).start();
             FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, j -> false, j -> false);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            worker.uploadWhen = j -> j.batchId().equals("small");
            worker.paused = true;
            client.submit(large("big", 2000));
            await("the big batch's window out", () -> coordinator.batch("big").map(BatchSummary::released).orElse(0) == 8);
            assertEquals(8, countJobs(topics, "big"), "one window of jobs, not the whole batch");
            client.submit(CoordinatorTest.request("small"));
            await("the small batch's jobs out", () -> coordinator.batch("small").map(BatchSummary::released).orElse(0) == 4);
            worker.paused = false;

            List<BatchEvent> seen = new ArrayList<>();
            assertEquals(BatchEvent.Type.COMPLETED, awaitFinal(client, "small", seen).type(), seen.toString());
            BatchSummary big = coordinator.batch("big").orElseThrow();
            assertTrue(big.isRunning() && big.done() < 2000 / 2, "the big batch got " + big.done() + " images in first");
            assertTrue(big.inFlight().size() <= 8, big.inFlight().size() + " jobs outstanding");
            client.cancel("big", "done with the test");
        }
    }

    /**
     * A 1,000,000-image batch is accepted with a window of 16 jobs out; cancelled once 100 images
     * are in, it releases nothing more: every job it ever had is one of the window out at the
     * cancel, checked once the worker has taken every job and the coordinator every result.
     */
    @Test
    void aCancelledMillionImageBatchStopsWithinOneWindow() throws Exception {
        String prefix = "s2.";
        Topics topics = new Topics(prefix);
        int window = 16;
        CoordinatorSettings s = withGroup(settings(prefix), prefix).toBuilder().window(window).build();
        try (Coordinator coordinator = new Coordinator(s, store).start();
             FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, j -> false, j -> false);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics);
             BatchClient.Events events = client.events("huge", true)) {
            worker.uploadWhen = j -> false;
            client.submit(large("huge", 1_000_000));
            await("100 images in", () -> coordinator.batch("huge").map(BatchSummary::done).orElse(0) >= 100);
            client.cancel("huge", "enough");
            BatchEvent cancelled = events.awaitFinal(Duration.ofSeconds(60), e -> { }).orElseThrow();
            assertEquals(BatchEvent.Type.CANCELLED, cancelled.type(), cancelled.toString());
            BatchSummary atCancel = coordinator.batch("huge").orElseThrow();
            assertEquals(BatchSummary.Status.CANCELLED, atCancel.status());
            assertEquals(1_000_000, atCancel.total());
            assertTrue(atCancel.released() - atCancel.done() <= window,
                    atCancel.released() + " released, " + atCancel.done() + " in");

            await("the worker took every job", () -> worker.seen.stream().filter(j -> j.batchId().equals("huge"))
                    .count() == countJobs(topics, "huge"));
            awaitConsumed(s.groupId(), topics.results());
            assertEquals(atCancel.released(), countJobs(topics, "huge"), "jobs released after the cancel");
            assertEquals(atCancel, coordinator.batch("huge").orElseThrow());
        }
    }

    /**
     * The coordinator dies (before a commit, as a killed process) with about half of a
     * 10,000-image batch in; its successor rebuilds from the batch's summary and completes it
     * exactly once: one committed {@code completed} event, and a {@code manifest.jsonl} with every
     * image once, in order.
     */
    @Test
    void aCoordinatorKilledInTheMiddleOfATenThousandImageBatchCompletesItExactlyOnce() throws Exception {
        String prefix = "s3.";
        Topics topics = new Topics(prefix);
        int n = 10_000;
        CoordinatorSettings s = withGroup(settings(prefix), prefix).toBuilder().window(256).build();
        try (FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, j -> false, j -> false);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            worker.uploadWhen = j -> false;
            AtomicInteger inAtCrash = new AtomicInteger();
            Coordinator first = new CrashingCoordinator(s, store, (c, completing) -> {
                inAtCrash.set(c.batch("tenk").map(BatchSummary::done).orElse(0));
                return inAtCrash.get() >= n / 2;
            }).start();
            client.submit(large("tenk", n));
            await("the first coordinator's crash", () -> !first.isRunning());
            first.close();
            int doneAtCrash = inAtCrash.get();
            assertTrue(doneAtCrash >= n / 2 && doneAtCrash < n, doneAtCrash + " in at the crash");

            try (Coordinator second = new Coordinator(s, store).start()) {
                List<BatchEvent> seen = new ArrayList<>();
                BatchEvent completed = awaitFinal(client, "tenk", seen);
                assertEquals(BatchEvent.Type.COMPLETED, completed.type(), completed.toString());
                assertEquals(n, completed.total());
                assertEquals(null, completed.imageKeys(), "too many to list in an event");
                assertEquals(null, completed.gridKey(), "no rows x cols asked for");
                awaitConsumed(s.groupId(), topics.results());
                BatchSummary summary = second.batch("tenk").orElseThrow();
                assertEquals(BatchSummary.Status.COMPLETED, summary.status());
                assertEquals(n, summary.done());

                List<String> lines = new String(store.get(summary.manifestLinesKey()), StandardCharsets.UTF_8)
                        .lines().toList();
                assertEquals(n, lines.size());
                Set<String> keys = new HashSet<>();
                for (int i = 0; i < n; i++) {
                    JsonNode line = Json.newMapper().readTree(lines.get(i));
                    assertEquals(i, line.path("index").asInt());
                    keys.add(line.path("key").asText());
                }
                assertEquals(n, keys.size(), "every image once, each at its own key");
                assertTrue(keys.contains("batches/tenk/images/9999.png"));
                JsonNode manifest = Json.newMapper().readTree(store.get(summary.manifestKey()));
                assertEquals(summary.manifestLinesKey(), manifest.path("lines").asText());
                assertTrue(manifest.path("images").isMissingNode(), "too many to list in manifest.json");
            }
            assertEquals(1, countCompleted(topics, "tenk", true));
            assertFalse(readCommittedEvents(topics).stream().anyMatch(e -> e.type() == BatchEvent.Type.FAILED));
        }
    }

    private static List<BatchEvent> readCommittedEvents(Topics topics) {
        return kafka.readAll(topics.events(), true).stream().map(r -> Json.batchEvent(r.value())).toList();
    }
}
