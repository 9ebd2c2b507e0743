package io.latentfarm.model.pipeline;

import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import io.latentfarm.common.spec.ImageSpec;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each denoising step's temporaries are freed at once: during a 100-step run the number of live
 * arrays stays flat, and the resident memory at step 100 is within a small bound of step 10.
 */
class PipelineMemoryTest {

    @Test
    void hundredStepsCostNoMoreResidentMemoryThanTen() {
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(Reference.tinyModel(), PipelineOptions.cpu())) {
            int weights = pipe.openArrayCount();
            // 128x128 images: 16x16 latents, so a leaked step costs about a megabyte
            List<ImageSpec> hundred = List.of(StableDiffusionPipelineTest.image("a lighthouse", "", 100, 7.5, 1, 128,
                    "euler_a"));
            pipe.render(hundred, null); // allocator pools, lazily loaded natives, JIT
            long[] rss = new long[101];
            int[] arrays = new int[101];
            long[] heap = new long[101];
            pipe.render(hundred, (step, total) -> {
                arrays[step] = pipe.openArrayCount();
                rss[step] = residentKiB();
                heap[step] = Runtime.getRuntime().totalMemory() >> 10;
            });
            assertEquals(weights, pipe.openArrayCount(), "arrays left open after the run");
            assertEquals(arrays[10], arrays[100], "live arrays at step 10 and step 100");
            long growthMiB = (rss[100] - rss[10]) >> 10;
            System.out.printf("resident memory: step 10 %d MiB, step 100 %d MiB; heap %d -> %d MiB%n", rss[10] >> 10, rss[100] >> 10, heap[10] >> 10, heap[100] >> 10);
            assertTrue(growthMiB < 32, "resident memory grew by " + growthMiB + " MiB from step 10 to step 100");
        }
    }

    private static long residentKiB() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
