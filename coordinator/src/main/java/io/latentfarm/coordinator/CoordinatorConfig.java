package io.latentfarm.coordinator;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;

import java.time.Duration;

/**
 * {@code latentfarm.coordinator.*} (the request limits under the same prefix are
 * {@link io.latentfarm.client.RequestLimitsConfig}); defaults in {@code application-coordinator.yml},
 * meanings in {@code docs/configuration.md} and {@link CoordinatorSettings}.
 *
 * @param transactionalId empty: the group id and the host name ({@code HOSTNAME}), stable across a
 *                        pod's restarts
 * @param window          most jobs a running batch has outstanding
 * @param maxGridImages   most images a grid is composed of
 * @param maxListedImages most images a completed event and manifest.json list one by one
 */
// Bound where application-coordinator.yml is loaded (the coordinator role), as its files give
// latentfarm.coordinator.partitions; a worker, which reads other latentfarm.coordinator keys, has none.
@Requires(property = "latentfarm.coordinator.partitions")
@ConfigurationProperties("latentfarm.coordinator")
public record CoordinatorConfig(String groupId, @Nullable String transactionalId, int partitions, int jobPartitions,
                                boolean createTopics, int maxAttempts, Duration reissueAfter, int window,
                                int maxGridImages, int maxListedImages) {
}
