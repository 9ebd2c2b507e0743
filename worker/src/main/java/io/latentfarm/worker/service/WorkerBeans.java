package io.latentfarm.worker.service;

import io.latentfarm.common.Topics;
import io.latentfarm.common.storage.ObjectStore;
import io.latentfarm.common.storage.ObjectStoreConfig;
import io.latentfarm.worker.pipeline.PipelineOptions;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Named;
import jakarta.inject.Singleton;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/** Builds the plain worker classes from configuration; nothing here but wiring. */
@Factory
@Requires(property = "latentfarm.worker.enabled", notEquals = "false")
class WorkerBeans {

    @Singleton
    @Bean(preDestroy = "close")
    @Named("worker")
    ObjectStore workerObjectStore(
            @Nullable @Value("${latentfarm.s3.endpoint:}") String endpoint,
            @Value("${latentfarm.s3.region:us-east-1}") String region,
            @Value("${latentfarm.s3.bucket:latentfarm}") String bucket,
            @Nullable @Value("${latentfarm.s3.access-key:}") String accessKey,
            @Nullable @Value("${latentfarm.s3.secret-key:}") String secretKey,
            @Value("${latentfarm.s3.path-style:true}") boolean pathStyle) {
        return ObjectStore.open(new ObjectStoreConfig(blank(endpoint) ? null : URI.create(endpoint.trim()), region,
                bucket, blank(accessKey) ? null : accessKey, blank(secretKey) ? null : secretKey, pathStyle));
    }

    /** The model, loaded once at startup; a test or another deployment may replace this bean. */
    @Singleton
    @Bean(preDestroy = "close")
    ImageRenderer renderer(@Value("${latentfarm.worker.model}") String model,
                           @Nullable @Value("${latentfarm.worker.model-id:}") String modelId,
                           @Nullable @Value("${latentfarm.worker.variant:}") String variant,
                           @Nullable @Value("${latentfarm.worker.device:auto}") String device,
                           @Nullable @Value("${latentfarm.worker.dtype:auto}") String dtype,
                           @Nullable @Value("${latentfarm.worker.vae-upcast:}") String vaeUpcast) {
        PipelineOptions options;
        try {
            options = PipelineOptions.resolve(device, dtype, blank(variant) ? null : variant)
                    .withUpcastVae(blank(vaeUpcast) ? null : Boolean.parseBoolean(vaeUpcast.trim()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("latentfarm.worker." + e.getMessage(), e);
        }
        return PipelineRenderer.load(Path.of(model), options, blank(modelId) ? null : modelId);
    }

    @Context
    @Bean(preDestroy = "close")
    JobWorker jobWorker(@Named("worker") ObjectStore store, ImageRenderer renderer,
                        @Value("${latentfarm.kafka.bootstrap}") String bootstrap,
                        @Nullable @Value("${latentfarm.kafka.topic-prefix:latentfarm.}") String topicPrefix,
                        @Nullable @Value("${latentfarm.worker.group-id:}") String groupId,
                        @Nullable @Value("${latentfarm.worker.worker-id:}") String workerId,
                        @Value("${latentfarm.worker.max-batch:1}") int maxBatch,
                        @Value("${latentfarm.worker.progress-interval:1s}") Duration progressInterval,
                        @Value("${latentfarm.worker.shutdown-grace:30s}") Duration shutdownGrace,
                        @Value("${latentfarm.worker.retry-backoff:2s}") Duration retryBackoff) {
        WorkerSettings settings = new WorkerSettings(bootstrap,
                new Topics(topicPrefix == null ? Topics.DEFAULT_PREFIX : topicPrefix), groupId, workerId, maxBatch,
                progressInterval, shutdownGrace, retryBackoff, null);
        return new JobWorker(settings, renderer, store).start();
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
