package io.latentfarm.coordinator;

import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.RenderResult;
import io.latentfarm.common.storage.ObjectKeys;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The batch lifecycle as plain functions, without a broker. */
class BatchMachineTest {
    static final ObjectKeys KEYS = ObjectKeys.root();
    static final BatchMachine.Rules RULES = new BatchMachine.Rules(4, 2, 1000, 1024);

    static RenderRequest request(String id, int count) {
        return RenderRequest.builder().batchId(id).prompt("a fox").grid(null, null).count(count).steps(2)
                .size(64, 64).seed(7L).build();
    }

    static BatchSummary accepted(String id, int count, int priority, long now, BatchMachine.Effects out) {
        return BatchMachine.accept(request(id, count), count, priority, now, out);
    }

    static ImageSource source(BatchSummary s) {
        return new InlineImageSource(s.request(), KEYS);
    }

    static BatchSummary fill(BatchSummary s, long now, BatchMachine.Effects out) {
        return BatchMachine.fanOut(List.of(s), BatchMachineTest::source, RULES, now, out).getOrDefault(s.batchId(), s);
    }

    static RenderResult rendered(RenderJob job) {
        return RenderResult.rendered(job, "w1", "m", new RenderResult.Timings(0, 1, 1, 1, 3), List.of("prompt: w"));
    }

    @Test
    void acceptReleasesNothingThenTheWindowInIndexOrder() {
        BatchMachine.Effects out = new BatchMachine.Effects();
        BatchSummary s = accepted("b", 10, 0, 100, out);
        assertEquals(List.of(BatchEvent.Type.ACCEPTED), out.events.stream().map(BatchEvent::type).toList());
        assertEquals(0, s.released());
        s = fill(s, 101, out);
        assertEquals(List.of(0, 1, 2, 3), out.jobs.stream().map(RenderJob::index).toList());
        assertEquals("batches/b/images/0003.png", out.jobs.get(3).objectKey());
        assertEquals(4, s.released());
        assertEquals(0, BatchMachine.room(s, RULES), "the window is full");
        assertEquals(RenderJob.forImage(s.request(), 2, KEYS.image("b", 2)), out.jobs.get(2));
    }

    @Test
    void eachResultFreesOneSlotAndTheLastCompletesExactlyOnce() {
        BatchMachine.Effects out = new BatchMachine.Effects();
        BatchSummary s = fill(accepted("b", 5, 0, 100, out), 100, out);
        List<RenderJob> issued = new ArrayList<>(out.jobs);
        for (int round = 0; round < 5; round++) {
            RenderJob job = issued.get(round);
            BatchMachine.Effects step = new BatchMachine.Effects();
            s = BatchMachine.onResult(s, rendered(job), source(s), RULES, 200 + round, step);
            assertEquals(1, step.images.size());
            assertEquals("b/000" + round, step.images.get(0).key());
            s = fill(s, 200 + round, step);
            issued.addAll(step.jobs);
            assertSame(s, BatchMachine.onResult(s, rendered(job), source(s), RULES, 300, new BatchMachine.Effects()),
                    "a duplicate result changes nothing");
            if (round < 4) {
                assertEquals(BatchEvent.Type.PROGRESS, step.events.get(0).type());
                assertFalse(BatchMachine.isComplete(s));
            }
        }
        assertEquals(5, issued.size(), "each image released once");
        assertTrue(BatchMachine.isComplete(s));
        assertThrows(IllegalStateException.class, () -> BatchMachine.cancel(
                BatchMachine.complete(BatchMachine.onResult(accepted("x", 1, 0, 1, new BatchMachine.Effects()),
                        rendered(issued.get(0)), null, RULES, 1, new BatchMachine.Effects()), "bk", null, "m", "l",
                        List.of(), 1, new BatchMachine.Effects()), "late", 2, new BatchMachine.Effects()));
        BatchMachine.Effects end = new BatchMachine.Effects();
        BatchSummary done = BatchMachine.complete(s, "bucket", null, "m.json", "m.jsonl", null, 400, end);
        assertEquals(BatchSummary.Status.COMPLETED, done.status());
        assertEquals(List.of("prompt: w"), done.warnings());
        BatchEvent completed = end.events.get(0);
        assertEquals(BatchEvent.Type.COMPLETED, completed.type());
        assertEquals(5, completed.total());
        assertNull(completed.imageKeys(), "not listed when not given");
        assertThrows(IllegalStateException.class, () -> BatchMachine.complete(done, "b", null, "m", "l", null, 1,
                new BatchMachine.Effects()));
        assertSame(done, BatchMachine.onResult(done, rendered(issued.get(0)), source(done), RULES, 500,
                new BatchMachine.Effects()), "a completed batch takes no results");
    }

    @Test
    void fanOutIsRoundRobinWithHigherPriorityFirst() {
        BatchMachine.Effects out = new BatchMachine.Effects();
        BatchSummary big = accepted("big", 1000, 0, 100, out);
        BatchSummary small = accepted("small", 2, 0, 200, out);
        BatchSummary urgent = accepted("urgent", 3, 5, 300, out);
        Map<String, BatchSummary> after = BatchMachine.fanOut(List.of(big, small, urgent), BatchMachineTest::source,
                RULES, 400, out);
        assertEquals(List.of("urgent/0000", "big/0000", "small/0000", "urgent/0001", "big/0001", "small/0001",
                "urgent/0002", "big/0002", "big/0003"), out.jobs.stream().map(RenderJob::jobId).toList());
        assertEquals(4, after.get("big").released());
        assertEquals(2, after.get("small").released());
        assertEquals(3, after.get("urgent").released());
        assertEquals(Map.of(), BatchMachine.fanOut(List.copyOf(after.values()), BatchMachineTest::source, RULES, 500,
                new BatchMachine.Effects()), "every window full or every image out");
    }

    @Test
    void aFailedAttemptIsRetriedThenFailsTheBatchWithADeadLetter() {
        BatchMachine.Effects out = new BatchMachine.Effects();
        BatchSummary s = fill(accepted("b", 6, 0, 100, out), 100, out);
        RenderJob job = out.jobs.get(1);
        BatchMachine.Effects retry = new BatchMachine.Effects();
        s = BatchMachine.onResult(s, RenderResult.failed(job, "w", "oom"), source(s), RULES, 200, retry);
        assertEquals(List.of(job.withAttempt(2)), retry.jobs);
        assertEquals(2, s.inFlight(1).attempt());
        assertEquals(1, s.retried());
        assertSame(s, BatchMachine.onResult(s, RenderResult.failed(job, "w", "late"), source(s), RULES, 201,
                new BatchMachine.Effects()), "a superseded attempt's failure changes nothing");
        BatchMachine.Effects fail = new BatchMachine.Effects();
        s = BatchMachine.onResult(s, RenderResult.failed(job.withAttempt(2), "w", "oom"), source(s), RULES, 300, fail);
        assertEquals(BatchSummary.Status.FAILED, s.status());
        assertEquals("image 1 failed after 2 attempts: oom", s.reason());
        assertEquals(job.withAttempt(2), fail.deadLetters.get(0).job());
        assertEquals(BatchEvent.Type.FAILED, fail.events.get(0).type());
        assertEquals(0, BatchMachine.room(s, RULES), "a failed batch releases nothing");

        BatchMachine.Effects permanent = new BatchMachine.Effects();
        BatchSummary p = fill(accepted("p", 2, 0, 100, new BatchMachine.Effects()), 100, permanent);
        p = BatchMachine.onResult(p, RenderResult.failed(permanent.jobs.get(0), "w", "bad size").asPermanent(),
                source(p), RULES, 200, permanent);
        assertEquals("image 0 failed: bad size", p.reason());
    }

    @Test
    void overdueImagesAreReissuedAfterASilenceThenFailTheBatch() {
        BatchMachine.Effects out = new BatchMachine.Effects();
        BatchSummary s = fill(accepted("b", 2, 0, 0, out), 0, out);
        s = BatchMachine.onResult(s, rendered(out.jobs.get(0)), source(s), RULES, 500, new BatchMachine.Effects());
        assertFalse(BatchMachine.isOverdue(s, RULES, 1200), "image 1 is overdue, but the batch moved at 500");
        assertTrue(BatchMachine.isOverdue(s, RULES, 1500));
        BatchMachine.Effects again = new BatchMachine.Effects();
        s = BatchMachine.reissueOverdue(s, source(s), RULES, 1500, again);
        assertEquals(List.of(out.jobs.get(1).withAttempt(2)), again.jobs);
        BatchMachine.Effects fail = new BatchMachine.Effects();
        s = BatchMachine.reissueOverdue(s, source(s), RULES, 2600, fail);
        assertEquals(BatchSummary.Status.FAILED, s.status());
        assertEquals("no result for image(s) [1] after 2 attempts", s.reason());
        assertEquals(1, fail.deadLetters.size());
    }

    @Test
    void cancelStopsReleasesAndLateResultsChangeNothing() {
        BatchMachine.Effects out = new BatchMachine.Effects();
        BatchSummary s = fill(accepted("b", 1_000_000, 0, 0, out), 0, out);
        BatchMachine.Effects cancel = new BatchMachine.Effects();
        BatchSummary c = BatchMachine.cancel(s, "enough", 10, cancel);
        assertEquals(BatchSummary.Status.CANCELLED, c.status());
        assertEquals(List.of(BatchEvent.Type.CANCELLED), cancel.events.stream().map(BatchEvent::type).toList());
        assertEquals(1, cancel.cancels.size());
        assertEquals(Map.of(), BatchMachine.fanOut(List.of(c), BatchMachineTest::source, RULES, 20, cancel));
        assertSame(c, BatchMachine.onResult(c, rendered(out.jobs.get(0)), source(c), RULES, 30, cancel));
        assertFalse(BatchMachine.isOverdue(c, RULES, 1_000_000));
        assertThrows(IllegalStateException.class, () -> BatchMachine.cancel(c, "again", 40, new BatchMachine.Effects()));
    }

    /** A million-image batch's summary stays small whatever has happened, and round-trips. */
    @Test
    void theSummaryDoesNotGrowWithTheBatchAndRoundTrips() {
        BatchMachine.Rules rules = new BatchMachine.Rules(64, 3, 1000, 1024);
        BatchMachine.Effects out = new BatchMachine.Effects();
        BatchSummary s = BatchMachine.accept(request("big", 1_000_000), 1_000_000, 3, 0, out);
        for (int i = 0; i < 20_000; i++) {
            s = BatchMachine.fanOut(List.of(s), BatchMachineTest::source, rules, i, out).getOrDefault("big", s);
            RenderJob job = out.jobs.get(i);
            s = BatchMachine.onResult(s, rendered(job), source(s), rules, i, new BatchMachine.Effects());
        }
        assertEquals(20_000, s.done());
        assertTrue(s.isIn(19_999) && !s.isIn(20_000 + 63) && s.inFlight(20_000 + 10) != null);
        byte[] json = Json.toBytes(s);
        assertTrue(json.length < 16_000, json.length + " bytes");
        assertEquals(s, Json.fromBytes(json, BatchSummary.class));
    }

    /** An image in flight takes at most what the settings' window limit allows for, with the longest ids. */
    @Test
    void anImageInFlightFitsItsShareOfTheSummary() {
        String id = "b".repeat(64);
        BatchSummary.InFlight f = new BatchSummary.InFlight(new SourceCursor(999_999, 999_999_999L,
                99_999_999_999L, 999_999), KEYS.image(id, 999_999, 1_000_000), 3, 1_764_412_345_678L);
        assertTrue(Json.toBytes(f).length + 1 <= CoordinatorSettings.IN_FLIGHT_BYTES, Json.toJson(f));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CoordinatorTest.settings("x.").toBuilder().window(1025).build());
        assertEquals("latentfarm.coordinator.window 1025 is more than 1024: a batch summary lists every image in "
                + "flight, in at most half of latentfarm.kafka.max-record-bytes 524288", e.getMessage());
    }

    @Test
    void aSummaryOfAFinishedBatchWrittenBeforeCursorsStillDecodes() {
        String old = """
                {"schemaVersion":1,"batchId":"b","status":"completed","done":1,"total":1,"acceptedAt":1000,
                 "lastProgressAt":1002,"completedAt":1002,"bucket":"latentfarm","gridKey":"batches/b/grid.png",
                 "manifestKey":"batches/b/manifest.json","attempts":[1],
                 "images":[{"objectKey":"batches/b/images/0000.png","workerId":"w","attempt":1,"model":"m"}],
                 "request":{"schemaVersion":1,"batchId":"b","prompts":["a"],"steps":2,"seed":7,"width":64,"height":64}}""";
        BatchSummary s = Json.fromBytes(old.getBytes(StandardCharsets.UTF_8), BatchSummary.class);
        assertEquals(BatchSummary.Status.COMPLETED, s.status());
        assertTrue(s.isIn(0));
        assertEquals("batches/b/grid.png", s.gridKey());
    }
}
