package io.latentfarm.worker.service;

import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.model.pipeline.ProgressListener;
import io.latentfarm.model.pipeline.RenderedImage;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A renderer without a model, for measuring latentfarm itself ({@code latentfarm bench cluster},
 * {@code local --renderer synthetic}, {@code latentfarm.worker.renderer: synthetic}): each image takes
 * {@link #renderTime} of sleep and is a small {@value #SIZE}x{@value #SIZE} picture whose pixels
 * are a hash of the generator seed, the image's slice and its prompt, so that an image written
 * under another image's key, or twice for two images, shows. Everything around it (consuming jobs,
 * PNG encoding, uploads, results, commits) is the worker's real code. It reports no denoising
 * steps, so a synthetic job sends no progress events.
 */
public final class SyntheticRenderer implements ImageRenderer {
    /** Width and height of every synthetic image, whatever size the job asks for. */
    public static final int SIZE = 8;
    public static final String MODEL_ID = "synthetic";

    private final Duration renderTime;

    public SyntheticRenderer(Duration renderTime) {
        if (renderTime == null || renderTime.isNegative()) {
            throw new IllegalArgumentException("synthetic-render-ms: " + renderTime + " must be 0 or more");
        }
        this.renderTime = renderTime;
    }

    public Duration renderTime() {
        return renderTime;
    }

    @Override
    public List<RenderedImage> render(List<ImageSpec> images, ProgressListener listener) {
        List<RenderedImage> out = new ArrayList<>(images.size());
        for (int i = 0; i < images.size(); i++) {
            ImageSpec image = images.get(i);
            sleep();
            out.add(new RenderedImage(i, SIZE, SIZE, pixels(image.seed(), image.sliceIndex(), image.prompt())));
        }
        return out;
    }

    /** The RGB bytes of the image of slice {@code index} of the draw with {@code seed}, for {@code prompt}. */
    public static byte[] pixels(long seed, int index, String prompt) {
        long state = seed * 0x9E3779B97F4A7C15L + index * 0xC2B2AE3D27D4EB4FL + prompt.hashCode();
        byte[] rgb = new byte[SIZE * SIZE * 3];
        for (int i = 0; i < rgb.length; i += 8) {
            state += 0x9E3779B97F4A7C15L; // SplitMix64: eight bytes a step
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            for (int b = 0; b < 8 && i + b < rgb.length; b++) {
                rgb[i + b] = (byte) (z >>> (8 * b));
            }
        }
        return rgb;
    }

    private void sleep() {
        if (renderTime.isZero()) {
            return;
        }
        try {
            Thread.sleep(renderTime.toMillis(), renderTime.toNanosPart() % 1_000_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while rendering", e);
        }
    }

    @Override
    public String modelId() {
        return MODEL_ID;
    }

    @Override
    public String device() {
        return "cpu";
    }

    @Override
    public String dtype() {
        return "none";
    }
}
