package io.latentfarm.worker.service;

import io.micronaut.context.annotation.Requires;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.AbstractHealthIndicator;
import jakarta.inject.Singleton;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Up while the model is loaded and the job consumer runs; says which model, on which device, doing
 * what. Down while the model loads (a Kubernetes startup probe waits for it) and for good after a
 * failed load (the reason is in {@code failure}).
 */
@Singleton
@Requires(env = WorkerApplication.ROLE)
class WorkerHealth extends AbstractHealthIndicator<Map<String, Object>> {
    private final JobWorker worker;

    WorkerHealth(JobWorker worker) {
        this.worker = worker;
    }

    @Override
    protected Map<String, Object> getHealthInformation() {
        WorkerStatus s = worker.status();
        healthStatus = s.modelLoaded() && s.running() ? HealthStatus.UP : HealthStatus.DOWN;
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("workerId", s.workerId());
        details.put("modelLoaded", s.modelLoaded());
        details.put("modelState", s.modelLoaded() ? "loaded" : worker.crash() != null ? "failed" : "loading");
        details.put("model", s.model());
        details.put("device", s.device());
        details.put("dtype", s.dtype());
        details.put("running", s.running());
        details.put("currentJob", s.currentJob() == null ? "idle" : s.currentJob());
        details.put("rendered", s.rendered());
        details.put("failed", s.failed());
        if (worker.crash() != null) {
            details.put("failure", worker.crash().toString());
        }
        return details;
    }

    @Override
    protected String getName() {
        return "worker";
    }
}
