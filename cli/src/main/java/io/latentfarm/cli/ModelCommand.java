package io.latentfarm.cli;

import io.latentfarm.worker.pipeline.RandomModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code latentfarm model tiny|random}: random-weight models in the diffusers layout. */
@Command(name = "model", description = "Write random-weight Stable Diffusion v1 models in the diffusers layout.",
        mixinStandardHelpOptions = true,
        subcommands = {ModelCommand.Tiny.class, ModelCommand.Random.class})
public final class ModelCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "tiny", mixinStandardHelpOptions = true,
            description = "A tiny SD-v1-shaped model with random weights (its images are noise), for smoke runs.")
    static final class Tiny implements Callable<Integer> {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        private java.io.PrintWriter out() {
            return spec.commandLine().getOut();
        }

        @Option(names = "--out", required = true, description = "Folder to write the model to.")
        Path out;

        @Option(names = "--seed", defaultValue = "0", description = "Seed of the random weights (default ${DEFAULT-VALUE}).")
        long seed;

        @Override
        public Integer call() {
            RandomModel.Written w = RandomModel.writeTiny(out, seed);
            out().println("wrote tiny random-weight model to " + w.dir() + " " + w.parameters());
            return 0;
        }
    }

    @Command(name = "random", mixinStandardHelpOptions = true,
            description = "Random weights for the SD v1 configs in a diffusers folder without weights.")
    static final class Random implements Callable<Integer> {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        private java.io.PrintWriter out() {
            return spec.commandLine().getOut();
        }

        @Option(names = "--config", required = true, description = "Folder with model_index.json and component configs.")
        Path config;

        @Option(names = "--out", required = true, description = "Folder to write the model to.")
        Path out;

        @Option(names = "--seed", defaultValue = "0", description = "Seed of the random weights (default ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--variant", description = "Write fp16 weights as the 'fp16' variant (*.fp16.safetensors).")
        String variant;

        @Override
        public Integer call() {
            if (variant != null && !variant.equals("fp16")) {
                throw new IllegalArgumentException("--variant: only fp16 is written, not '" + variant + "'");
            }
            RandomModel.Written w = RandomModel.writeRandom(config, out, variant, seed);
            out().println("wrote random-weight model to " + w.dir() + " " + w.parameters());
            return 0;
        }
    }
}
