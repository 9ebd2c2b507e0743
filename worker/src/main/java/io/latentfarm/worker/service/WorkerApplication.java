package io.latentfarm.worker.service;

import io.micronaut.runtime.Micronaut;

/**
 * The worker service: one loaded model and a {@link JobWorker}, wired by Micronaut from
 * {@code application-worker.yml} (every property can be set by environment, e.g.
 * {@code LATENTFARM_WORKER_MODEL}, {@code LATENTFARM_KAFKA_BOOTSTRAP}), with {@code GET /health}.
 */
public final class WorkerApplication {
    private WorkerApplication() {
    }

    public static void main(String[] args) {
        Micronaut.build(args).mainClass(WorkerApplication.class).environments("worker").start();
    }
}
