package io.latentfarm.service;

import io.latentfarm.worker.service.WorkerApplication;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code latentfarm worker}: the worker role alone, configured by LATENTFARM_* environment variables. */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = {"Run a worker in the foreground (no coordinator in this process).",
                "Configured by environment variables, as in the image: LATENTFARM_WORKER_MODEL, LATENTFARM_KAFKA_BOOTSTRAP,",
                "LATENTFARM_S3_ENDPOINT, LATENTFARM_S3_ACCESS_KEY, LATENTFARM_S3_SECRET_KEY, ... (all: docs/configuration.md)."})
public final class WorkerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR|OWNER/NAME",
            description = "The model to load (overrides LATENTFARM_WORKER_MODEL).")
    String model;

    @Option(names = "--port", paramLabel = "P",
            description = "HTTP port of /health (default: LATENTFARM_HTTP_PORT, else 8081; 0 picks a free one).")
    Integer port;

    @Option(names = "--check-engine",
            description = "Load the PyTorch engine, run one operation, print what it found and exit"
                    + " (the image build runs this so DJL unpacks its natives once, at build time).")
    boolean checkEngine;

    @Override
    public Integer call() throws Exception {
        if (checkEngine) {
            spec.commandLine().getOut().println(EngineCheck.run());
            spec.commandLine().getOut().flush();
            return 0;
        }
        Map<String, Object> properties = new HashMap<>();
        if (model != null) {
            properties.put("latentfarm.worker.model", model);
        }
        if (port != null) {
            properties.put("micronaut.server.port", port == 0 ? -1 : port);
        }
        return RoleProcess.runUntilStopped(WorkerApplication.start(new String[0], properties), WorkerApplication.ROLE);
    }
}
