package io.latentfarm.cli;

import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.embedded.EmbeddedKafka;
import io.latentfarm.embedded.EmbeddedS3;
import io.latentfarm.worker.service.ImageRenderer;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * What {@code latentfarm local} runs in one process: a real Kafka broker and S3 server (embedded,
 * data under one folder) and one Micronaut application with both services, the coordinator (with
 * its web page, {@code /health} and {@code /prometheus}) and a worker: the services' own beans
 * and configuration, sharing one object store, only with the embedded addresses; further workers,
 * if asked for, as worker applications of their own.
 */
final class LocalStack implements AutoCloseable {
    static final String WORKER_ID = "local-worker";
    /** Both services in one process. */
    static final String[] ROLES = {"coordinator", "worker"};

    private final Deque<AutoCloseable> running = new ArrayDeque<>();
    private final EmbeddedKafka kafka;
    private final EmbeddedS3 s3;
    private final ObjectStore store;
    private final EmbeddedServer server;

    /**
     * @param port    the web page's port on 127.0.0.1; 0: any free one
     * @param variant weights variant, or null
     */
    LocalStack(Path dataDir, ModelOptions model, ComputeOptions compute, String variant, int port) {
        this(dataDir, pipelineWorker(model, compute, variant), 1, port);
    }

    /**
     * @param settings service settings on top of the embedded addresses: the worker's renderer
     *                 ({@link #pipelineWorker}, {@link #syntheticWorker}) and any other overrides
     * @param workers  how many workers: the first shares the coordinator's application (and web
     *                 server), the others run as worker applications of their own in this process
     * @param port     the web page's port on 127.0.0.1; 0: any free one
     */
    LocalStack(Path dataDir, Map<String, Object> settings, int workers, int port) {
        if (workers < 1) {
            throw new IllegalArgumentException("workers: " + workers + " is below 1");
        }
        try {
            kafka = push(EmbeddedKafka.start(dataDir.resolve("kafka")));
            s3 = push(EmbeddedS3.start(dataDir.resolve("s3")));
            Map<String, Object> props = properties(kafka, s3, port);
            props.putAll(settings);
            server = ApplicationContext.run(EmbeddedServer.class, props, ROLES);
            running.push(() -> server.getApplicationContext().close());
            store = server.getApplicationContext().getBean(ObjectStore.class); // the services' own, closed with them
            for (int i = 2; i <= workers; i++) {
                // The worker role alone (no web server): what `latentfarm worker` runs, on the same broker and bucket.
                Map<String, Object> worker = new HashMap<>(props);
                worker.put("latentfarm.worker.worker-id", WORKER_ID + "-" + i);
                ApplicationContext context = ApplicationContext.run(worker, "worker");
                running.push(context::close);
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /**
     * The configuration of both roles against the embedded broker and S3 server: the services' own
     * keys, only with these addresses (what {@code latentfarm local} and the documentation's examples
     * run). Only what local must set: the embedded addresses, a stable transactional id (the host
     * name may change between runs on one data folder) and the worker's id; everything else is the
     * services' own configuration (application-coordinator.yml, -worker.yml).
     *
     * @param port the web page's port on 127.0.0.1; 0: any free one
     */
    static Map<String, Object> properties(EmbeddedKafka kafka, EmbeddedS3 s3, int port) {
        Map<String, Object> props = new HashMap<>();
        props.put("micronaut.server.host", "127.0.0.1");
        props.put("micronaut.server.port", port == 0 ? -1 : port);
        props.put("latentfarm.kafka.bootstrap", kafka.bootstrapServers());
        props.put("latentfarm.s3.endpoint", s3.endpoint().toString());
        props.put("latentfarm.s3.bucket", s3.bucket());
        props.put("latentfarm.s3.access-key", s3.accessKey());
        props.put("latentfarm.s3.secret-key", s3.secretKey());
        props.put("latentfarm.coordinator.transactional-id", "latentfarm-local-coordinator");
        props.put("latentfarm.worker.worker-id", WORKER_ID);
        return props;
    }

    /** The worker settings for the Stable Diffusion pipeline on a model, as --model, --revision, --config and --cache give it. */
    static Map<String, Object> pipelineWorker(ModelOptions model, ComputeOptions compute, String variant) {
        Map<String, Object> props = new HashMap<>();
        props.put("latentfarm.worker.renderer", "pipeline");
        props.put("latentfarm.worker.model", model.model);
        props.put("latentfarm.worker.revision", model.revision == null ? "" : model.revision);
        props.put("latentfarm.worker.config", model.config == null ? "" : model.config.toString());
        props.put("latentfarm.worker.hf-cache", model.cache == null ? "" : model.cache.toString());
        props.put("latentfarm.worker.variant", variant == null ? "" : variant);
        props.put("latentfarm.worker.device", compute == null ? "auto" : compute.device);
        props.put("latentfarm.worker.dtype", compute == null ? "auto" : compute.dtype);
        props.put("latentfarm.worker.vae-upcast",
                compute == null || compute.vaeUpcast == null ? "" : compute.vaeUpcast.toString());
        return props;
    }

    /** The worker settings for the synthetic renderer: no model, {@code renderMs} of sleep per image. */
    static Map<String, Object> syntheticWorker(long renderMs) {
        Map<String, Object> props = new HashMap<>();
        props.put("latentfarm.worker.renderer", "synthetic");
        props.put("latentfarm.worker.synthetic-render-ms", renderMs);
        return props;
    }

    private <T extends AutoCloseable> T push(T resource) {
        running.push(resource);
        return resource;
    }

    /** Waits until the worker's model is loaded (or its load failed: then throws why). */
    ImageRenderer awaitModel(Duration timeout) {
        ImageRenderer renderer = server.getApplicationContext().getBean(ImageRenderer.class);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!renderer.awaitLoaded(Duration.ofMillis(200))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the model did not load within " + timeout);
            }
        }
        return renderer;
    }

    EmbeddedKafka kafka() {
        return kafka;
    }

    EmbeddedS3 s3() {
        return s3;
    }

    ObjectStore store() {
        return store;
    }

    /** A bean of the services' application (e.g. their bound settings). */
    <T> T bean(Class<T> type) {
        return server.getApplicationContext().getBean(type);
    }

    /** The web page, e.g. {@code http://127.0.0.1:8080/}. */
    URI web() {
        return URI.create("http://127.0.0.1:" + server.getPort() + "/");
    }

    @Override
    public void close() {
        RuntimeException first = null;
        while (!running.isEmpty()) {
            try {
                running.pop().close();
            } catch (Exception e) {
                if (first == null) {
                    first = new IllegalStateException("while stopping: " + e.getMessage(), e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
