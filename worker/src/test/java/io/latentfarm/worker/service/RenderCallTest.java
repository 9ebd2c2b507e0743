package io.latentfarm.worker.service;

import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.SeedMode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** How polled jobs become denoising calls. */
class RenderCallTest {
    static RenderJob job(RenderRequest r, int index) {
        return RenderJob.forImage(r, index, "k" + index);
    }

    @Test
    void jobsOfOneBatchDrawShareACallWithTheirPromptsAtTheirSlices() {
        RenderRequest r = RenderRequest.builder().batchId("b").prompts(List.of("cat", "dog")).count(4).steps(3)
                .size(64, 64).seed(9L).build();
        List<RenderCall> calls = RenderCall.plan(List.of(job(r, 3), job(r, 1), job(r, 3).withAttempt(2)));
        assertEquals(1, calls.size());
        RenderCall call = calls.get(0);
        assertArrayEquals(new int[]{3, 1}, call.indices());
        assertEquals(4, call.request().batchSize());
        assertEquals(9L, call.request().seed());
        assertEquals("dog", call.request().promptOf(3));
        assertEquals("cat", call.request().promptOf(1));
        assertEquals(2, call.jobAt(3).attempt(), "a duplicate renders once, as its latest attempt");
    }

    @Test
    void otherBatchesAndPerImageSeedsGetTheirOwnCalls() {
        RenderRequest a = RenderRequest.builder().batchId("a").prompt("x").count(2).steps(3).size(64, 64).seed(1L).build();
        RenderRequest b = a.toBuilder().batchId("b").build();
        RenderRequest p = a.toBuilder().batchId("p").seedMode(SeedMode.PER_IMAGE).build();
        List<RenderCall> calls = RenderCall.plan(List.of(job(a, 0), job(b, 0), job(p, 0), job(p, 1), job(a, 1)));
        assertEquals(4, calls.size());
        assertArrayEquals(new int[]{0, 1}, calls.get(0).indices());
        RenderCall perImage = calls.get(3);
        assertEquals(1, perImage.request().batchSize());
        assertEquals(2L, perImage.request().seed(), "per-image: seed + index, a batch of one");
        assertArrayEquals(new int[]{0}, perImage.indices());
    }
}
