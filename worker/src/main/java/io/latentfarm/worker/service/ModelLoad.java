package io.latentfarm.worker.service;

import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.model.pipeline.ProgressListener;
import io.latentfarm.model.pipeline.RenderedImage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * A renderer whose model loads on a thread of its own, so the worker's HTTP server (health,
 * metrics) is up while a multi-gigabyte model loads: health says DOWN with {@code modelLoaded:
 * false} until it is ready, and stays DOWN with the reason if loading failed. The job consumer
 * joins its group only once the model is ready ({@link #awaitLoaded}).
 */
public final class ModelLoad implements ImageRenderer {
    private static final Logger LOG = LoggerFactory.getLogger(ModelLoad.class);

    private final String modelId;
    private final String device;
    private final String dtype;
    private final CompletableFuture<ImageRenderer> loaded = new CompletableFuture<>();
    private volatile double loadSeconds = Double.NaN;
    private volatile boolean closed;

    private ModelLoad(String modelId, String device, String dtype) {
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.modelId = Objects.requireNonNull(modelId, "modelId");
        this.device = Objects.requireNonNull(device, "device");
    }

    /**
     * Starts loading.
     *
     * @param modelId what health reports as the model while it loads (then the loaded renderer's id)
     * @param device  where it will compute, reported while it loads
     * @param dtype   in which precision, reported while it loads
     */
    public static ModelLoad start(String modelId, String device, String dtype,
                                  Supplier<? extends ImageRenderer> load) {
        ModelLoad m = new ModelLoad(modelId, device, dtype);
        Thread t = new Thread(() -> m.load(load), "latentfarm-model-load");
        t.setDaemon(true);
        t.start();
        return m;
    }

    private void load(Supplier<? extends ImageRenderer> load) {
        long start = System.nanoTime();
        try {
            ImageRenderer renderer = Objects.requireNonNull(load.get(), "loaded renderer");
            loadSeconds = (System.nanoTime() - start) / 1e9;
            LOG.info("model {} loaded on {} in {} s", renderer.modelId(), renderer.device(),
                    String.format("%.1f", loadSeconds));
            loaded.complete(renderer);
            if (closed) {
                renderer.close();
            }
        } catch (RuntimeException | Error e) {
            LOG.error("model {} failed to load: {}", modelId, e.toString(), e);
            loaded.completeExceptionally(e);
        }
    }

    /** Seconds the load took; NaN until it is done. */
    public double loadSeconds() {
        return loadSeconds;
    }

    /** Why loading failed, or null (still loading, or loaded). */
    public Throwable failure() {
        if (!loaded.isCompletedExceptionally()) {
            return null;
        }
        try {
            loaded.join();
            return null;
        } catch (RuntimeException e) {
            return e.getCause() != null ? e.getCause() : e;
        }
    }

    @Override
    public boolean isLoaded() {
        return loaded.isDone() && !loaded.isCompletedExceptionally();
    }

    @Override
    public boolean awaitLoaded(Duration timeout) {
        try {
            loaded.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException e) {
            throw new IllegalStateException("model " + modelId + " failed to load: " + e.getCause(), e.getCause());
        }
    }

    private ImageRenderer renderer() {
        if (!isLoaded()) {
            throw new IllegalStateException("model " + modelId + " is not loaded");
        }
        return loaded.join();
    }

    @Override
    public List<RenderedImage> render(List<ImageSpec> images, ProgressListener listener) {
        return renderer().render(images, listener);
    }

    @Override
    public List<String> warnings(RenderJob job) {
        return renderer().warnings(job);
    }

    @Override
    public String modelId() {
        return isLoaded() ? loaded.join().modelId() : modelId;
    }

    @Override
    public String device() {
        return isLoaded() ? loaded.join().device() : device;
    }

    @Override
    public String dtype() {
        return isLoaded() ? loaded.join().dtype() : dtype;
    }

    @Override
    public void close() {
        closed = true;
        if (isLoaded()) {
            loaded.join().close();
        }
    }
}
