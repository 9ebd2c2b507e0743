package io.latentfarm.worker.service;

import io.latentfarm.common.Topics;
import io.latentfarm.common.message.RecordLimits;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.common.validation.Limits;
import io.latentfarm.common.storage.ObjectStore;
import io.latentfarm.common.storage.ObjectStoreConfig;
import io.latentfarm.worker.model.ModelFiles;
import io.latentfarm.worker.pipeline.PipelineOptions;
import io.micrometer.core.instrument.MeterRegistry;
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
@Requires(env = WorkerApplication.ROLE)
class WorkerBeans {
    /** {@code latentfarm.worker.renderer}: the Stable Diffusion pipeline on {@code latentfarm.worker.model}. */
    static final String RENDERER_PIPELINE = "pipeline";
    /** {@code latentfarm.worker.renderer}: no model, {@link SyntheticRenderer}. */
    static final String RENDERER_SYNTHETIC = "synthetic";

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

    /**
     * The model, loaded once, in the background: health reports it loading, and the job consumer
     * starts taking jobs when it is ready. With {@code renderer: synthetic} no model at all: a
     * {@link SyntheticRenderer} that sleeps {@code synthetic-render-ms} per image (for benchmarks).
     * A test or another deployment may replace this bean.
     */
    @Singleton
    @Bean(preDestroy = "close")
    ImageRenderer renderer(@Value("${latentfarm.worker.renderer:pipeline}") String kind,
                           @Value("${latentfarm.worker.synthetic-render-ms:0}") long syntheticRenderMs,
                           @Nullable @Value("${latentfarm.worker.model:}") String model,
                           @Nullable @Value("${latentfarm.worker.revision:}") String revision,
                           @Nullable @Value("${latentfarm.worker.config:}") String config,
                           @Nullable @Value("${latentfarm.worker.hf-cache:}") String hfCache,
                           @Nullable @Value("${latentfarm.worker.model-id:}") String modelId,
                           @Nullable @Value("${latentfarm.worker.variant:}") String variant,
                           @Nullable @Value("${latentfarm.worker.device:auto}") String device,
                           @Nullable @Value("${latentfarm.worker.dtype:auto}") String dtype,
                           @Nullable @Value("${latentfarm.worker.vae-upcast:}") String vaeUpcast) {
        switch (kind.trim()) {
            case RENDERER_PIPELINE -> {
            }
            case RENDERER_SYNTHETIC -> {
                if (syntheticRenderMs < 0) {
                    throw new IllegalArgumentException("latentfarm.worker.synthetic-render-ms: " + syntheticRenderMs
                            + " must be 0 or more");
                }
                return new SyntheticRenderer(Duration.ofMillis(syntheticRenderMs));
            }
            default -> throw new IllegalArgumentException("latentfarm.worker.renderer: \"" + kind + "\" is not one of "
                    + RENDERER_PIPELINE + ", " + RENDERER_SYNTHETIC);
        }
        if (blank(model)) {
            throw new IllegalArgumentException("latentfarm.worker.model: not set; give LATENTFARM_WORKER_MODEL or"
                    + " --model with a diffusers Stable Diffusion v1 folder, a repo id or a checkpoint file");
        }
        PipelineOptions options;
        try {
            options = PipelineOptions.resolve(device, dtype, blank(variant) ? null : variant)
                    .withUpcastVae(blank(vaeUpcast) ? null : Boolean.parseBoolean(vaeUpcast.trim()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("latentfarm.worker." + e.getMessage(), e);
        }
        String id = blank(modelId) ? null : modelId;
        ModelFiles files;
        try {
            files = ModelFiles.resolve(model, blank(revision) ? null : revision,
                    blank(config) ? null : Path.of(config), blank(hfCache) ? null : Path.of(hfCache));
        } catch (RuntimeException e) {
            // a model that cannot be found is a failed load: health says DOWN and why
            String label = model.matches("[\\w.-]+/[\\w.-]+") ? model : String.valueOf(Path.of(model).getFileName());
            return ModelLoad.start(PipelineRenderer.modelId(label, id), options.deviceName(), options.dtypeName(),
                    () -> {
                        throw e;
                    });
        }
        return ModelLoad.start(PipelineRenderer.modelId(files.label(), id), options.deviceName(), options.dtypeName(),
                () -> PipelineRenderer.load(files, options, id));
    }

    @Singleton
    WorkerMetrics workerMetrics(MeterRegistry registry, ImageRenderer renderer) {
        return new WorkerMetrics(registry, renderer);
    }

    @Context
    @Bean(preDestroy = "close")
    JobWorker jobWorker(@Named("worker") ObjectStore store, ImageRenderer renderer, WorkerMetrics metrics,
                        @Value("${latentfarm.kafka.bootstrap}") String bootstrap,
                        @Nullable @Value("${latentfarm.kafka.topic-prefix:latentfarm.}") String topicPrefix,
                        @Nullable @Value("${latentfarm.worker.group-id:}") String groupId,
                        @Nullable @Value("${latentfarm.worker.worker-id:}") String workerId,
                        @Value("${latentfarm.worker.max-batch:1}") int maxBatch,
                        @Value("${latentfarm.worker.progress-interval:1s}") Duration progressInterval,
                        @Value("${latentfarm.worker.shutdown-grace:30s}") Duration shutdownGrace,
                        @Value("${latentfarm.worker.retry-backoff:2s}") Duration retryBackoff,
                        @Nullable @Value("${latentfarm.worker.group-instance-id:}") String groupInstanceId,
                        @Value("${latentfarm.worker.session-timeout:10s}") Duration sessionTimeout,
                        @Nullable @Value("${latentfarm.s3.key-prefix:}") String keyPrefix,
                        @Value("${latentfarm.coordinator.max-images:64}") int maxImages,
                        @Value("${latentfarm.coordinator.max-size:1024}") int maxSize,
                        @Value("${latentfarm.coordinator.max-steps:150}") int maxSteps,
                        @Value("${latentfarm.kafka.max-input-bytes:262144}") int maxInputBytes,
                        @Value("${latentfarm.kafka.max-record-bytes:524288}") int maxRecordBytes,
                        @Value("${latentfarm.kafka.dead-letter-excerpt-bytes:1024}") int excerptBytes) {
        // The same limits as the coordinator's (same keys): a job it wrote always passes.
        Limits limits = Limits.DEFAULTS.withMaxImages(maxImages).withMaxSize(maxSize, maxSize).withMaxSteps(maxSteps);
        WorkerSettings settings = new WorkerSettings(bootstrap,
                new Topics(topicPrefix == null ? Topics.DEFAULT_PREFIX : topicPrefix), groupId, workerId, maxBatch,
                progressInterval, shutdownGrace, retryBackoff, null,
                new ObjectKeys(blank(keyPrefix) ? "" : keyPrefix.trim()), limits,
                new RecordLimits(maxInputBytes, maxRecordBytes, excerptBytes), groupInstanceId, sessionTimeout);
        return new JobWorker(settings, renderer, store).observedBy(metrics).start();
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
