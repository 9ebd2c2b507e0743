package io.latentfarm.coordinator;

import io.micronaut.runtime.Micronaut;

/**
 * The coordinator service: {@link Coordinator} wired by Micronaut from {@code application.yml}
 * (every property can be set by environment, e.g. {@code LATENTFARM_KAFKA_BOOTSTRAP}), with
 * {@code GET /batches/{id}} and {@code GET /health} over HTTP.
 */
public final class CoordinatorApplication {
    private CoordinatorApplication() {
    }

    public static void main(String[] args) {
        Micronaut.build(args).mainClass(CoordinatorApplication.class).environments("coordinator").start();
    }
}
