package io.latentfarm.worker.service;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;

import java.time.Duration;

/**
 * {@code latentfarm.worker.*}: the model and how the worker takes jobs. Defaults in
 * {@code application-worker.yml}, meanings there, in {@code docs/configuration.md} and
 * {@link WorkerSettings}. Empty strings mean "not set".
 */
// Bound where application-worker.yml is loaded (the worker role), as only it gives
// latentfarm.worker.max-batch; the coordinator reads latentfarm.worker.group-id alone.
@Requires(property = "latentfarm.worker.max-batch")
@ConfigurationProperties("latentfarm.worker")
public record WorkerConfig(String renderer, long syntheticRenderMs, @Nullable String model, @Nullable String revision, @Nullable String config,
                           @Nullable String hfCache, @Nullable String modelId, @Nullable String variant,
                           @Nullable String device, @Nullable String dtype, @Nullable String vaeUpcast,
                           String groupId, @Nullable String workerId, int maxBatch, Duration progressInterval,
                           Duration shutdownGrace, Duration retryBackoff, Duration sessionTimeout,
                           @Nullable String groupInstanceId) {
    public WorkerConfig {
        model = blankToNull(model);
        revision = blankToNull(revision);
        config = blankToNull(config);
        hfCache = blankToNull(hfCache);
        modelId = blankToNull(modelId);
        variant = blankToNull(variant);
        device = blankToNull(device);
        dtype = blankToNull(dtype);
        vaeUpcast = blankToNull(vaeUpcast);
        workerId = blankToNull(workerId);
        groupInstanceId = blankToNull(groupInstanceId);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }
}
