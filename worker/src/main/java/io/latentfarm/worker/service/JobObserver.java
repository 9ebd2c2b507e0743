package io.latentfarm.worker.service;

import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderResult;

/**
 * What a {@link JobWorker} tells about its jobs as they go, for metrics; called from the render
 * thread, so implementations must be quick and must not throw.
 */
public interface JobObserver {
    JobObserver NONE = new JobObserver() {
    };

    /** One denoising step took {@code nanos} (an image's first step is timed from its prompts' encoding). */
    default void step(long nanos) {
    }

    /** The job's image is uploaded and its result published. */
    default void rendered(RenderJob job, RenderResult.Timings timings) {
    }

    /** The job's rendering failed; a {@code failed} result is published. */
    default void failed(RenderJob job, String reason) {
    }
}
