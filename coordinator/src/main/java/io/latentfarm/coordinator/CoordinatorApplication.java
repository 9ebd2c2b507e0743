package io.latentfarm.coordinator;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;

import java.util.Map;

/**
 * The coordinator service: {@link Coordinator} wired by Micronaut from {@code application-coordinator.yml}
 * (every property can be set by environment, e.g. {@code LATENTFARM_KAFKA_BOOTSTRAP}; all of them in
 * {@code docs/configuration.md}), with
 * {@code GET /batches/{id}} and {@code GET /health} over HTTP.
 *
 * <p>Its beans require the Micronaut environment {@value #ROLE}: a process started here creates no
 * worker beans even when the worker's classes are on its class path.
 */
public final class CoordinatorApplication {
    /** The Micronaut environment that selects the coordinator's beans and configuration file. */
    public static final String ROLE = "coordinator";

    private CoordinatorApplication() {
    }

    public static void main(String[] args) {
        start(args, Map.of());
    }

    /** Starts the coordinator role; {@code properties} override the configuration file and environment. */
    public static ApplicationContext start(String[] args, Map<String, Object> properties) {
        return Micronaut.build(args).mainClass(CoordinatorApplication.class).banner(false).environments(ROLE)
                .deduceEnvironment(false).properties(properties).start();
    }
}
