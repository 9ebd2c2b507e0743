package io.latentfarm.coordinator;

import io.micronaut.context.annotation.Requires;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.AbstractHealthIndicator;
import jakarta.inject.Singleton;

import java.util.LinkedHashMap;
import java.util.Map;

/** Up while the coordinator's loop runs; says which partitions it owns and how many batches run. */
@Singleton
@Requires(env = CoordinatorApplication.ROLE)
class CoordinatorHealth extends AbstractHealthIndicator<Map<String, Object>> {
    private final Coordinator coordinator;

    CoordinatorHealth(Coordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    protected Map<String, Object> getHealthInformation() {
        healthStatus = coordinator.isRunning() ? HealthStatus.UP : HealthStatus.DOWN;
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("running", coordinator.isRunning());
        details.put("partitions", coordinator.ownedPartitions());
        details.put("runningBatches", coordinator.runningBatches());
        if (coordinator.failure() != null) {
            details.put("failure", coordinator.failure().toString());
        }
        return details;
    }

    @Override
    protected String getName() {
        return "coordinator";
    }
}
