package io.latentfarm.cli;

import io.latentfarm.model.files.ModelFiles;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * {@code --model} and the options that qualify it, shared by generate, local, bench and tokens;
 * {@link ModelFiles#resolve} decides what the value is.
 */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "MODEL",
            description = "A diffusers Stable Diffusion v1 folder, a Hugging Face repo id OWNER/NAME in the hub cache,"
                    + " or a single-file .safetensors/.ckpt checkpoint.")
    String model;

    @Option(names = "--revision", paramLabel = "REV",
            description = "With a repo id: the branch, tag or commit in the hub cache (default main).")
    String revision;

    @Option(names = "--config", paramLabel = "DIR",
            description = "With a single file: a diffusers folder whose configs and tokenizer describe it"
                    + " (default: the bundled SD v1 configs; its weights are not used).")
    Path config;

    @Option(names = "--cache", paramLabel = "DIR",
            description = "The Hugging Face hub cache (default: HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub).")
    Path cache;

    /** A plain folder, as if given by {@code --model DIR}. */
    static ModelOptions of(Path folder) {
        ModelOptions options = new ModelOptions();
        options.model = folder.toString();
        return options;
    }

    /** The model named by the options; a one-line error when it cannot be found or is not SD v1. */
    ModelFiles resolve() {
        if (model == null) {
            throw new IllegalArgumentException("--model is required: a diffusers folder, a repo id OWNER/NAME or a"
                    + " .safetensors/.ckpt file");
        }
        return ModelFiles.resolve(model, revision, config, cache);
    }
}
