package io.latentfarm.service;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The service roles, one per process: {@code coordinator} or {@code worker}. What the launcher
 * ({@code latentfarm coordinator|worker}) and the service image run.
 */
@Command(name = "latentfarm", mixinStandardHelpOptions = true, version = "latentfarm 0.1.0",
        description = "Runs one latentfarm service role in the foreground.",
        subcommands = {CoordinatorCommand.class, WorkerCommand.class})
public final class ServiceMain implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new ServiceMain()).execute(args));
    }
}
