package io.latentfarm.coordinator;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;

import java.time.Duration;

/**
 * {@code latentfarm.coordinator.*} (the request limits under the same prefix are
 * {@link io.latentfarm.client.RequestLimitsConfig}); defaults in {@code application-coordinator.yml},
 * meanings in {@code docs/configuration.md} and {@link CoordinatorSettings}.
 *
 * @param transactionalId empty: the group id and the host name ({@code HOSTNAME}), stable across a
 *                        pod's restarts
 */
@ConfigurationProperties("latentfarm.coordinator")
public record CoordinatorConfig(String groupId, @Nullable String transactionalId, int partitions, int jobPartitions,
                                boolean createTopics, int maxAttempts, Duration reissueAfter) {
}
