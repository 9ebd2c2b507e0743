package io.latentfarm.worker.service;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.util.cuda.CudaUtils;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The worker's metrics (Prometheus names): {@code latentfarm_images_rendered_total},
 * {@code latentfarm_images_failed_total}, {@code latentfarm_render_seconds{phase=encode|denoise|decode|upload}},
 * {@code latentfarm_unet_step_seconds}, {@code latentfarm_model_load_seconds} and, on a GPU,
 * {@code latentfarm_device_memory_used_bytes}.
 */
public final class WorkerMetrics implements JobObserver {
    private static final Duration[] RENDER_BUCKETS = seconds(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300);
    private static final Duration[] STEP_BUCKETS = seconds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10);

    private final Counter rendered;
    private final Counter failed;
    private final Timer encode;
    private final Timer denoise;
    private final Timer decode;
    private final Timer upload;
    private final Timer step;

    public WorkerMetrics(MeterRegistry registry, ImageRenderer renderer) {
        rendered = Counter.builder("latentfarm.images.rendered").description("Images rendered and uploaded")
                .register(registry);
        failed = Counter.builder("latentfarm.images.failed").description("Jobs whose rendering failed")
                .register(registry);
        encode = phase(registry, "encode");
        denoise = phase(registry, "denoise");
        decode = phase(registry, "decode");
        upload = phase(registry, "upload");
        step = Timer.builder("latentfarm.unet.step").description("One denoising step (UNet call and scheduler step)")
                .serviceLevelObjectives(STEP_BUCKETS).register(registry);
        Gauge.builder("latentfarm.model.load", renderer,
                        r -> r instanceof ModelLoad m ? m.loadSeconds() : Double.NaN)
                .description("Seconds the model took to load (NaN while loading)").baseUnit("seconds")
                .register(registry);
        if (Engine.getInstance().getGpuCount() > 0) {
            Device gpu = Device.gpu();
            Gauge.builder("latentfarm.device.memory.used", gpu, d -> CudaUtils.getGpuMemory(d).getUsed())
                    .description("Memory in use on the GPU, as the engine reports it").baseUnit("bytes")
                    .tag("device", gpu.toString()).register(registry);
        }
    }

    private static Timer phase(MeterRegistry registry, String phase) {
        return Timer.builder("latentfarm.render").description("Time per job and phase")
                .tag("phase", phase).serviceLevelObjectives(RENDER_BUCKETS).register(registry);
    }

    private static Duration[] seconds(double... s) {
        Duration[] out = new Duration[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = Duration.ofNanos((long) (s[i] * 1e9));
        }
        return out;
    }

    @Override
    public void step(long nanos) {
        step.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void rendered(RenderJob job, RenderResult.Timings timings) {
        rendered.increment();
        encode.record(timings.encodeMs(), TimeUnit.MILLISECONDS);
        denoise.record(timings.denoiseMs(), TimeUnit.MILLISECONDS);
        decode.record(timings.decodeMs(), TimeUnit.MILLISECONDS);
        upload.record(timings.uploadMs(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void failed(RenderJob job, String reason) {
        failed.increment();
    }
}
