package io.latentfarm.client;

import io.latentfarm.common.validation.Limits;
import io.micronaut.context.annotation.ConfigurationProperties;

/**
 * What a request may ask for: {@code latentfarm.coordinator.max-*}, read by the coordinator (it
 * rejects requests over them) and by the worker (it dead-letters jobs over them), from the same keys
 * so that a job the coordinator wrote always passes.
 *
 * @param maxImages most images in one batch
 * @param maxSize   largest width and height, in pixels
 * @param maxSteps  most denoising steps
 */
@ConfigurationProperties("latentfarm.coordinator")
public record RequestLimitsConfig(int maxImages, int maxSize, int maxSteps) {
    /** The validator's limits: these three, the others as {@link Limits#DEFAULTS} has them. */
    public Limits limits() {
        return Limits.DEFAULTS.withMaxImages(maxImages).withMaxSize(maxSize, maxSize).withMaxSteps(maxSteps);
    }
}
