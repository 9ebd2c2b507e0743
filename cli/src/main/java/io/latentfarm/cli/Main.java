package io.latentfarm.cli;

import io.latentfarm.service.CoordinatorCommand;
import io.latentfarm.service.WorkerCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code latentfarm} command: one subcommand per verb. */
@Command(name = "latentfarm",
        mixinStandardHelpOptions = true,
        version = "latentfarm 0.1.0",
        description = "Stable Diffusion text-to-image as a distributed batch job on Kafka.",
        subcommands = {
                TokensCommand.class,
                GenerateCommand.class,
                ModelCommand.class,
                BenchCommand.class,
                SubmitCommand.class,
                StatusCommand.class,
                CancelCommand.class,
                FetchCommand.class,
                LocalCommand.class,
                CoordinatorCommand.class,
                WorkerCommand.class,
                BrokerCommand.class,
                S3Command.class,
        })
public final class Main implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, shared by main and tests. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(new CliErrors());
        return cl;
    }
}
