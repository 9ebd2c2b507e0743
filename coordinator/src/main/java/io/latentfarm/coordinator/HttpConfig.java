package io.latentfarm.coordinator;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;

/**
 * {@code latentfarm.http.*} of the coordinator.
 *
 * @param token a bearer token every route but {@code /health} then wants; unset: none is asked
 */
// the coordinator role (see CoordinatorConfig)
@Requires(property = "latentfarm.coordinator.partitions")
@ConfigurationProperties("latentfarm.http")
public record HttpConfig(@Nullable String token) {
}
