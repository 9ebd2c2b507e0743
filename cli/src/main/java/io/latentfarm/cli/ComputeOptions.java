package io.latentfarm.cli;

import io.latentfarm.model.pipeline.PipelineOptions;
import picocli.CommandLine.Option;

/** {@code --device} and {@code --dtype}: where the model computes and in which precision. */
final class ComputeOptions {
    static final String DEVICE_HELP = "auto (the first GPU libtorch sees, else the CPU), cpu, cuda or cuda:N (default ${DEFAULT-VALUE}).";
    static final String DTYPE_HELP = "fp32, fp16 or bf16 (bf16: convolutions, linear layers and attention in bf16, the rest in fp32); "
            + "auto: fp16 on a GPU, fp32 on a CPU (default ${DEFAULT-VALUE}).";

    @Option(names = "--device", defaultValue = "auto", description = DEVICE_HELP)
    String device;

    @Option(names = "--dtype", defaultValue = "auto", description = DTYPE_HELP)
    String dtype;

    @Option(names = "--vae-upcast", arity = "1", description = "With fp16: decode with the VAE in fp32 (true) or fp16 (false); "
            + "default: the VAE config's force_upcast (true when absent).")
    Boolean vaeUpcast;

    PipelineOptions resolve(String variant) {
        try {
            return PipelineOptions.resolve(device, dtype, variant).withUpcastVae(vaeUpcast);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--" + e.getMessage());
        }
    }
}
