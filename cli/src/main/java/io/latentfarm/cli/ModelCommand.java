package io.latentfarm.cli;

import io.latentfarm.model.pipeline.RandomModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code latentfarm model tiny|random}: random-weight models in the diffusers layout;
 * {@code latentfarm model pull}: a Hub repository into the Hugging Face cache.
 */
@Command(name = "model", description = "Pull Stable Diffusion v1 models from the Hub, or write random-weight ones.",
        mixinStandardHelpOptions = true,
        subcommands = {ModelCommand.Pull.class, ModelCommand.Tiny.class, ModelCommand.Random.class})
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

    @Command(name = "pull", mixinStandardHelpOptions = true,
            description = "Download a diffusers Stable Diffusion repository into the Hugging Face cache"
                    + " (what a pipeline needs only; resumable; shared with diffusers).")
    static final class Pull implements Callable<Integer> {
        /** The environment (HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE); tests replace it. */
        static java.util.Map<String, String> environment = System.getenv();

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @picocli.CommandLine.Parameters(index = "0", paramLabel = "OWNER/NAME", description = "The repository id.")
        String repoId;

        @Option(names = "--revision", defaultValue = "main", description = "Branch, tag or commit (default ${DEFAULT-VALUE}).")
        String revision;

        @Option(names = "--variant", description = "Weights variant, e.g. fp16 (diffusion_pytorch_model.fp16.safetensors).")
        String variant;

        @Option(names = "--cache", paramLabel = "DIR",
                description = "The Hugging Face hub cache (default: HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub).")
        Path cache;

        @Override
        public Integer call() throws Exception {
            java.io.PrintWriter out = spec.commandLine().getOut();
            HubPull pull = new HubPull(environment, cache, out);
            Path snapshot = pull.pull(repoId, revision, variant);
            out.println("pulled " + repoId + " into " + snapshot + "; use it with --model " + repoId
                    + (revision.equals("main") ? "" : " --revision " + revision));
            return 0;
        }
    }
}
