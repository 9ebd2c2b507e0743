package io.latentfarm.common.message;

import io.latentfarm.common.spec.ImageSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RenderJobTest {
    private final RenderRequest request = RenderRequest.builder().batchId("b-1").prompts(List.of("a", "b"))
            .negativePrompt("n").grid(2, 2).steps(15).seed(1024L).size(64, 64).model("tiny").build();

    @Test
    void batchModeTakesSliceIOfTheWholeBatch() {
        RenderJob job = RenderJob.forImage(request, 3, "key3");
        assertEquals("b-1/0003", job.jobId());
        assertEquals("b", job.prompt());
        assertEquals("n", job.negativePrompt());
        assertEquals(4, job.total());
        assertEquals(4, job.batchSize());
        assertEquals(3, job.sliceIndex());
        assertEquals(1024L, job.generatorSeed());
        assertEquals(1, job.attempt());
        assertEquals("key3", job.objectKey());
        assertEquals(15, job.steps());
        assertEquals("tiny", job.model());
    }

    @Test
    void perImageModeSeedsEachImageWithSPlusI() {
        RenderJob job = RenderJob.forImage(request.toBuilder().seedMode(SeedMode.PER_IMAGE).build(), 3, "k");
        assertEquals(1, job.batchSize());
        assertEquals(0, job.sliceIndex());
        assertEquals(1027L, job.generatorSeed());
    }

    @Test
    void fanOutNeedsBatchIdAndSeed() {
        assertThrows(IllegalArgumentException.class,
                () -> RenderJob.forImage(request.toBuilder().seed(null).build(), 0, "k"));
        assertThrows(IllegalArgumentException.class,
                () -> RenderJob.forImage(request.toBuilder().batchId(null).build(), 0, "k"));
        assertThrows(IndexOutOfBoundsException.class, () -> RenderJob.forImage(request, 4, "k"));
    }

    @Test
    void jobIdsSortInImageOrder() {
        assertEquals("x/0000", RenderJob.jobId("x", 0));
        assertEquals("x/0042", RenderJob.jobId("x", 42));
        assertEquals("x/12345", RenderJob.jobId("x", 12345));
    }

    @Test
    void retryKeepsEverythingButTheAttempt() {
        RenderJob job = RenderJob.forImage(request, 1, "k");
        RenderJob retry = job.withAttempt(2);
        assertEquals(2, retry.attempt());
        assertEquals(job, retry.withAttempt(1));
    }

    @Test
    void compatibleJobsShareModelSizeStepsSchedulerAndGuidance() {
        RenderJob a = RenderJob.forImage(request, 0, "k0");
        RenderJob b = RenderJob.forImage(request, 3, "k3");
        assertTrue(a.compatibleWith(b));
        RenderJob other = RenderJob.forImage(request.toBuilder().batchId("c").steps(20).build(), 0, "k");
        assertFalse(a.compatibleWith(other));
        RenderJob otherGuidance = RenderJob.forImage(request.toBuilder().batchId("c").guidance(1).build(), 0, "k");
        assertFalse(a.compatibleWith(otherGuidance));
    }

    @Test
    void inconsistentJobsCannotBeBuilt() {
        RenderJob j = RenderJob.forImage(request, 0, "k");
        assertThrows(IllegalArgumentException.class, () -> j.withAttempt(0));
        ImageSpec image = new ImageSpec("p", "", 15, 7.5, 64, 64, "pndm", 1, 4, 0, null);
        assertThrows(IllegalArgumentException.class, () -> new RenderJob(1, "b-1/0001", "b-1", 0, 4, image, null, 1, "k"));
        assertThrows(IllegalArgumentException.class, () -> new RenderJob(1, null, "b 1", 0, 4, image, null, 1, "k"));
        assertThrows(IllegalArgumentException.class, () -> new ImageSpec("p", "", 15, 7.5, 64, 64, "pndm", 1, 4, 4, null));
    }
}
