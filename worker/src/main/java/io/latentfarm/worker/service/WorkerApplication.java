package io.latentfarm.worker.service;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;

import java.util.Map;

/**
 * The worker service: one loaded model and a {@link JobWorker}, wired by Micronaut from
 * {@code application-worker.yml} (every property can be set by environment, e.g.
 * {@code LATENTFARM_WORKER_MODEL}, {@code LATENTFARM_KAFKA_BOOTSTRAP}), with {@code GET /health}.
 *
 * <p>Its beans require the Micronaut environment {@value #ROLE}: a process started here creates no
 * coordinator beans even when the coordinator's classes are on its class path.
 */
public final class WorkerApplication {
    /** The Micronaut environment that selects the worker's beans and configuration file. */
    public static final String ROLE = "worker";

    private WorkerApplication() {
    }

    public static void main(String[] args) {
        start(args, Map.of());
    }

    /** Starts the worker role; {@code properties} override the configuration file and environment. */
    public static ApplicationContext start(String[] args, Map<String, Object> properties) {
        return Micronaut.build(args).mainClass(WorkerApplication.class).banner(false).environments(ROLE)
                .deduceEnvironment(false).properties(properties).start();
    }
}
