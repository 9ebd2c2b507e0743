package io.latentfarm.cli;

import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.model.pipeline.ProgressListener;
import io.latentfarm.model.pipeline.RenderedImage;
import io.latentfarm.worker.service.ImageRenderer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Flat images instead of the UNet's: for tests about what the services do with requests, jobs and
 * events, not about pixels. Without pacing each image reports its last step only; with
 * {@code stepMillis} it takes every step in that time, so a batch can be cancelled mid-way and
 * a render in progress stops at its next step, as the pipeline's does.
 */
final class FlatRenderer implements ImageRenderer {
    private final long stepMillis;

    FlatRenderer() {
        this(0);
    }

    FlatRenderer(long stepMillis) {
        this.stepMillis = stepMillis;
    }

    @Override
    public List<RenderedImage> render(List<ImageSpec> images, ProgressListener listener) {
        List<RenderedImage> out = new ArrayList<>();
        for (int index = 0; index < images.size(); index++) {
            ImageSpec image = images.get(index);
            if (stepMillis == 0) {
                listener.onStep(image.steps(), image.steps());
            } else {
                for (int step = 1; step <= image.steps(); step++) {
                    try {
                        Thread.sleep(stepMillis);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted", e);
                    }
                    listener.onStep(step, image.steps());
                }
            }
            byte[] rgb = new byte[image.width() * image.height() * 3];
            Arrays.fill(rgb, (byte) (image.sliceIndex() * 40));
            out.add(new RenderedImage(index, image.width(), image.height(), rgb));
        }
        return out;
    }

    @Override
    public String modelId() {
        return "flat";
    }

    @Override
    public String device() {
        return "cpu";
    }
}
