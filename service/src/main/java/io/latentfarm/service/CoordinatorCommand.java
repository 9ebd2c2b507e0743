package io.latentfarm.service;

import io.latentfarm.coordinator.CoordinatorApplication;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code latentfarm coordinator}: the coordinator role alone, configured by LATENTFARM_* environment variables. */
@Command(name = "coordinator", mixinStandardHelpOptions = true,
        description = {"Run the coordinator service in the foreground (no worker in this process).",
                "Configured by environment variables, as in the image: LATENTFARM_KAFKA_BOOTSTRAP, LATENTFARM_S3_ENDPOINT,",
                "LATENTFARM_S3_ACCESS_KEY, LATENTFARM_S3_SECRET_KEY, LATENTFARM_COORDINATOR_TRANSACTIONAL_ID, ... (all: docs/configuration.md)."})
public final class CoordinatorCommand implements Callable<Integer> {

    @Option(names = "--port", paramLabel = "P",
            description = "HTTP port of /health and /batches/{id} (default: LATENTFARM_HTTP_PORT, else 8080; 0 picks a free one).")
    Integer port;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> properties = new HashMap<>();
        if (port != null) {
            properties.put("micronaut.server.port", port == 0 ? -1 : port);
        }
        return RoleProcess.runUntilStopped(CoordinatorApplication.start(new String[0], properties),
                CoordinatorApplication.ROLE);
    }
}
