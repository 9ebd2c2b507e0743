package io.latentfarm.worker.service;

import io.latentfarm.client.RequestLimitsConfig;
import io.latentfarm.client.kafka.KafkaConfig;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.storage.ObjectStoreConfig;
import io.latentfarm.model.files.ModelFiles;
import io.latentfarm.model.pipeline.PipelineOptions;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Builds the plain worker classes from the bound configuration (defaults in
 * {@code application-worker.yml}); nothing here but wiring. The object store is the shared
 * {@link io.latentfarm.client.storage.ObjectStoreFactory}'s.
 */
@Factory
@Requires(env = WorkerApplication.ROLE)
class WorkerBeans {
    /** {@code latentfarm.worker.renderer}: the Stable Diffusion pipeline on {@code latentfarm.worker.model}. */
    static final String RENDERER_PIPELINE = "pipeline";
    /** {@code latentfarm.worker.renderer}: no model, {@link SyntheticRenderer}. */
    static final String RENDERER_SYNTHETIC = "synthetic";

    /**
     * The model, loaded once, in the background: health reports it loading, and the job consumer
     * starts taking jobs when it is ready. With {@code renderer: synthetic} no model at all: a
     * {@link SyntheticRenderer} that sleeps {@code synthetic-render-ms} per image (for benchmarks).
     * A test or another deployment may replace this bean.
     */
    @Singleton
    @Bean(preDestroy = "close")
    ImageRenderer renderer(WorkerConfig worker) {
        switch (worker.renderer().trim()) {
            case RENDERER_PIPELINE -> {
            }
            case RENDERER_SYNTHETIC -> {
                if (worker.syntheticRenderMs() < 0) {
                    throw new IllegalArgumentException("latentfarm.worker.synthetic-render-ms: "
                            + worker.syntheticRenderMs() + " must be 0 or more");
                }
                return new SyntheticRenderer(Duration.ofMillis(worker.syntheticRenderMs()));
            }
            default -> throw new IllegalArgumentException("latentfarm.worker.renderer: \"" + worker.renderer()
                    + "\" is not one of " + RENDERER_PIPELINE + ", " + RENDERER_SYNTHETIC);
        }
        String model = worker.model();
        if (model == null) {
            throw new IllegalArgumentException("latentfarm.worker.model: not set; give LATENTFARM_WORKER_MODEL or"
                    + " --model with a diffusers Stable Diffusion v1 folder, a repo id or a checkpoint file");
        }
        PipelineOptions options;
        try {
            options = PipelineOptions.resolve(worker.device(), worker.dtype(), worker.variant())
                    .withUpcastVae(worker.vaeUpcast() == null ? null : Boolean.parseBoolean(worker.vaeUpcast()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("latentfarm.worker." + e.getMessage(), e);
        }
        String id = worker.modelId();
        ModelFiles files;
        try {
            files = ModelFiles.resolve(model, worker.revision(),
                    worker.config() == null ? null : Path.of(worker.config()),
                    worker.hfCache() == null ? null : Path.of(worker.hfCache()));
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

    @Singleton
    WorkerSettings workerSettings(WorkerConfig worker, RequestLimitsConfig limits, KafkaConfig kafka,
                                  ObjectStoreConfig s3) {
        return WorkerSettings.of(worker, limits, kafka, s3);
    }

    @Context
    @Bean(preDestroy = "close")
    JobWorker jobWorker(WorkerSettings settings, ObjectStore store, ImageRenderer renderer, WorkerMetrics metrics) {
        return new JobWorker(settings, renderer, store).observedBy(metrics).start();
    }
}
