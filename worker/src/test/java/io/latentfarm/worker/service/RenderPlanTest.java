package io.latentfarm.worker.service;

import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.SeedMode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** How polled jobs become render calls. */
class RenderPlanTest {
    static RenderJob job(RenderRequest r, int index) {
        return RenderJob.forImage(r, index, "k" + index);
    }

    @Test
    void compatibleJobsOfABatchShareACallAndDuplicatesRenderOnce() {
        RenderRequest r = RenderRequest.builder().batchId("b").prompts(List.of("cat", "dog")).count(4).steps(3)
                .size(64, 64).seed(9L).build();
        List<List<RenderJob>> calls = JobWorker.plan(List.of(job(r, 3), job(r, 1), job(r, 3).withAttempt(2)));
        assertEquals(1, calls.size());
        List<RenderJob> call = calls.get(0);
        assertEquals(List.of(3, 1), call.stream().map(RenderJob::index).toList());
        assertEquals("dog", call.get(0).image().prompt());
        assertEquals(3, call.get(0).image().sliceIndex());
        assertEquals(4, call.get(0).image().batchSize());
        assertEquals(2, call.get(0).attempt(), "a duplicate renders once, as its latest attempt");
    }

    @Test
    void otherBatchesAndIncompatibleJobsGetTheirOwnCalls() {
        RenderRequest a = RenderRequest.builder().batchId("a").prompt("x").count(2).steps(3).size(64, 64).seed(1L).build();
        RenderRequest b = a.toBuilder().batchId("b").build();
        RenderRequest p = a.toBuilder().batchId("p").count(3).seedMode(SeedMode.PER_IMAGE).build();
        // image 2 of the same batch with other steps (as a prompt file's line can have)
        RenderRequest q = p.toBuilder().steps(4).build();
        List<List<RenderJob>> calls = JobWorker.plan(List.of(job(a, 0), job(b, 0), job(p, 0), job(p, 1), job(a, 1),
                job(q, 2)));
        assertEquals(4, calls.size());
        assertEquals(List.of(0, 1), calls.get(0).stream().map(RenderJob::index).toList());
        List<RenderJob> perImage = calls.get(2);
        assertEquals(2, perImage.size());
        assertEquals(1, perImage.get(1).image().batchSize());
        assertEquals(2L, perImage.get(1).generatorSeed(), "per-image: seed + index, a batch of one");
        assertEquals(4, calls.get(3).get(0).steps());
    }
}
