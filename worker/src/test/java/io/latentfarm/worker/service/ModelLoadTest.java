package io.latentfarm.worker.service;

import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.model.pipeline.ProgressListener;
import io.latentfarm.model.pipeline.RenderedImage;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A model loading in the background says so until it is ready, and says why when it never will be. */
class ModelLoadTest {

    @Test
    void notLoadedUntilTheLoadReturns() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        ModelLoad load = ModelLoad.start("sd-v1-4", "cuda:0", "fp16", () -> {
            await(release);
            return new Named("sd-v1-4 (loaded)");
        });
        assertFalse(load.isLoaded());
        assertFalse(load.awaitLoaded(Duration.ofMillis(50)));
        assertEquals("sd-v1-4", load.modelId());
        assertEquals("cuda:0", load.device());
        assertTrue(Double.isNaN(load.loadSeconds()));
        assertThrows(IllegalStateException.class, () -> load.render(List.of(), ProgressListener.NONE));
        release.countDown();
        assertTrue(load.awaitLoaded(Duration.ofSeconds(10)));
        assertTrue(load.isLoaded());
        assertEquals("sd-v1-4 (loaded)", load.modelId());
        assertEquals("cpu", load.device());
        assertTrue(load.loadSeconds() >= 0);
        assertNull(load.failure());
    }

    @Test
    void aFailedLoadIsFinalAndSaysWhy() {
        ModelLoad load = ModelLoad.start("broken", "cpu", "fp32", () -> {
            throw new IllegalArgumentException("unet/config.json is missing");
        });
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> load.awaitLoaded(Duration.ofSeconds(10)));
        assertTrue(e.getMessage().contains("unet/config.json is missing"), e.getMessage());
        assertFalse(load.isLoaded());
        assertEquals("unet/config.json is missing", load.failure().getMessage());
        assertEquals("broken", load.modelId());
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private record Named(String modelId) implements ImageRenderer {
        @Override
        public List<RenderedImage> render(List<ImageSpec> images, ProgressListener listener) {
            return List.of();
        }

        @Override
        public String device() {
            return "cpu";
        }
    }
}
