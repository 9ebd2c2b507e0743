package io.latentfarm.coordinator;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.Locale;

/**
 * The coordinator's metrics (Prometheus names), read from its batch state at scrape time, so they
 * count what the committed state says, across restarts, with no hook in the loop:
 * {@code latentfarm_batches_total{status}} (batches of this coordinator's partitions by status,
 * running included), {@code latentfarm_batches_running}, {@code latentfarm_jobs_retried_total}
 * (jobs issued again after a failed attempt or a silence) and {@code latentfarm_jobs_lag} (the
 * workers' backlog on the jobs topic).
 */
final class CoordinatorMetrics {
    private CoordinatorMetrics() {
    }

    static void register(MeterRegistry registry, Coordinator coordinator, JobsLag lag) {
        for (BatchSummary.Status status : BatchSummary.Status.values()) {
            FunctionCounter.builder("latentfarm.batches", coordinator,
                            c -> c.batches().stream().filter(b -> b.status() == status).count())
                    .description("Batches by status (of this coordinator's partitions)")
                    .tag("status", status.name().toLowerCase(Locale.ROOT)).register(registry);
        }
        Gauge.builder("latentfarm.batches.running", coordinator, Coordinator::runningBatches)
                .description("Batches running now").register(registry);
        FunctionCounter.builder("latentfarm.jobs.retried", coordinator, CoordinatorMetrics::retried)
                .description("Jobs issued again (after a failed attempt, or no result in time)").register(registry);
        Gauge.builder("latentfarm.jobs.lag", lag, JobsLag::lag)
                .description("Jobs on the jobs topic the workers have not finished (consumer group lag)")
                .register(registry);
    }

    private static double retried(Coordinator coordinator) {
        return coordinator.batches().stream().mapToLong(BatchSummary::retried).sum();
    }
}
