package io.latentfarm.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.model.files.ModelFolder;
import io.latentfarm.model.files.RandomWeights;
import io.latentfarm.model.files.TensorFile;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Bf16Ops;
import io.latentfarm.model.nn.FlopCounter;
import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.common.spec.RenderSpec;
import io.latentfarm.model.pipeline.PipelineOptions;
import io.latentfarm.model.pipeline.StableDiffusionPipeline;
import io.latentfarm.model.unet.UNet2DConditionModel;
import io.latentfarm.model.unet.UNetConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code latentfarm bench}: speed and memory, always beside a baseline measured in the same run.
 * {@code bench unet} times one UNet step at batch 2 (classifier-free guidance) for each model and
 * dtype and prints its FLOPs and GFLOP/s next to a plain matmul's GFLOP/s (fp32 and bf16); {@code bench generate} runs one
 * generate and prints its time and the process's peak resident memory; {@code bench cluster}
 * ({@link BenchCluster}) runs batches through the whole farm on synthetic workers.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks: UNet step speed against plain matmul; generate time and peak RSS;"
                + " the cluster's throughput and overhead on synthetic workers.",
        subcommands = {BenchCommand.Unet.class, BenchCommand.Generate.class, BenchCluster.class})
public final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "unet", mixinStandardHelpOptions = true,
            description = "UNet step time at batch 2 for model folders (--model) and weightless config folders (--config, random weights in memory).")
    static final class Unet implements Callable<Integer> {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        private java.io.PrintWriter out() {
            return spec.commandLine().getOut();
        }

        @Option(names = "--model", description = "Diffusers folder with weights (repeatable).")
        List<Path> models = List.of();

        @Option(names = "--config", description = "Diffusers folder without weights, e.g. fixtures/sd-v1-4-configs (repeatable).")
        List<Path> configs = List.of();

        @Option(names = "--latent", defaultValue = "64", description = "Latent height and width (default ${DEFAULT-VALUE}: 512x512 images).")
        int latent;

        @Option(names = "--iters", defaultValue = "3", description = "Timed steps after one warm-up (default ${DEFAULT-VALUE}).")
        int iters;

        @Option(names = "--dtype", description = "fp32, fp16 or bf16; repeat for one row per dtype and model (default fp32).")
        List<String> dtypes = List.of("fp32");

        @Option(names = "--device", defaultValue = "cpu", description = ComputeOptions.DEVICE_HELP)
        String device;

        @Override
        public Integer call() {
            if (models.isEmpty() && configs.isEmpty()) {
                throw new IllegalArgumentException("give at least one --model or --config");
            }
            List<PipelineOptions> options = new java.util.ArrayList<>();
            for (String d : dtypes) {
                try {
                    options.add(PipelineOptions.resolve(device, d, null));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--" + e.getMessage());
                }
            }
            Device dev = options.get(0).device();
            Engine engine = Engine.getInstance();
            out().printf("bench unet: %s %s, %s, %s, %d threads, latents %dx%d, batch 2%n",
                    engine.getEngineName(), engine.getVersion(),
                    String.join("/", options.stream().map(PipelineOptions::dtypeName).toList()),
                    options.get(0).deviceName(), Runtime.getRuntime().availableProcessors(), latent, latent);
            double matmul = matmulGflops(dev, false);
            out().printf("  matmul 2048x2048x2048 (baseline): %.1f GFLOP/s%n", matmul);
            double matmulBf16 = matmulGflops(dev, true);
            out().printf("  matmul 2048x2048x2048 bf16: %.1f GFLOP/s = %.2fx fp32%n", matmulBf16, matmulBf16 / matmul);
            for (Path m : models) {
                ModelFolder folder = ModelFolder.open(m);
                List<TensorFile> files = folder.weights("unet", null);
                try {
                    compare(m.toString(), UNetConfig.fromJson(folder.config("unet")), options, dev, matmul,
                            (o, manager) -> new Weights(files, manager, o.dtype()));
                } finally {
                    files.forEach(TensorFile::close);
                }
            }
            for (Path c : configs) {
                ModelFolder folder = ModelFolder.open(c);
                compare(c + " (random weights)", UNetConfig.fromJson(folder.config("unet")), options, dev, matmul,
                        (o, manager) -> new Weights(new RandomWeights(true), manager, o.dtype()));
            }
            return 0;
        }

        /**
         * One row per dtype for one model. The dtypes' UNets are all loaded and their steps
         * alternate (fp32, bf16, fp32, bf16, ...), so a busy machine slows each alike; each row
         * reports its best step after one warm-up.
         */
        private void compare(String name, UNetConfig cfg, List<PipelineOptions> options, Device dev, double matmul,
                             java.util.function.BiFunction<PipelineOptions, NDManager, Weights> weights) {
            try (NDManager manager = NDManager.newBaseManager(dev)) {
                List<UNet2DConditionModel> unets = new java.util.ArrayList<>();
                for (PipelineOptions o : options) {
                    unets.add(new UNet2DConditionModel(cfg, weights.apply(o, manager)));
                }
                double[] best = new double[options.size()];
                long[] flops = new long[options.size()];
                java.util.Arrays.fill(best, Double.MAX_VALUE);
                for (int i = 0; i <= iters; i++) {
                    for (int d = 0; d < options.size(); d++) {
                        double s = step(unets.get(d), options.get(d).activationDType(), manager, flops, d);
                        if (i > 0) best[d] = Math.min(best[d], s); // step 0 warms up
                    }
                }
                double fp32Step = Double.NaN;
                for (int d = 0; d < options.size(); d++) {
                    if (options.get(d).dtype() == DataType.FLOAT32) fp32Step = best[d];
                }
                for (int d = 0; d < options.size(); d++) {
                    PipelineOptions o = options.get(d);
                    double gflops = flops[d] / best[d] / 1e9;
                    String vsFp32 = Double.isNaN(fp32Step) || o.dtype() == DataType.FLOAT32 ? ""
                            : String.format(", %.2fx the fp32 step", fp32Step / best[d]);
                    out().printf("  unet %s %s: %.3f s/step, %.1f GFLOP/step, %.1f GFLOP/s = %.2fx matmul%s%n",
                            name, o.dtypeName(), best[d], flops[d] / 1e9, gflops, gflops / matmul, vsFp32);
                }
            }
        }

        /** One UNet call at batch 2; its seconds, and its FLOPs into {@code flops[slot]}. */
        private double step(UNet2DConditionModel unet, DataType io, NDManager manager, long[] flops, int slot) {
            UNetConfig cfg = unet.config();
            try (NDManager step = manager.newSubManager()) {
                NDArray sample = step.randomNormal(new Shape(2, cfg.inChannels(), latent, latent)).toType(io, false);
                NDArray t = step.create(new float[]{981f, 981f});
                NDArray text = step.randomNormal(new Shape(2, 77, cfg.crossAttentionDim()[0])).toType(io, false);
                FlopCounter.start();
                long t0 = System.nanoTime();
                NDArray out = unet.forward(sample, t, text);
                out.toType(DataType.FLOAT32, false).toFloatArray(); // waits for the result
                double s = (System.nanoTime() - t0) / 1e9;
                flops[slot] = FlopCounter.stop();
                return s;
            }
        }

        /** A plain 2048^3 matmul's rate: float32 through DJL, or bf16 through the bf16 ops. */
        private static double matmulGflops(Device device, boolean bf16) {
            try (NDManager m = NDManager.newBaseManager(device)) {
                NDArray a = m.randomNormal(new Shape(2048, 2048));
                NDArray b = m.randomNormal(new Shape(2048, 2048));
                NDArray heldB = bf16 ? Bf16Ops.hold(b) : null;
                double best = Double.MAX_VALUE;
                for (int i = 0; i < 4; i++) {
                    long t0 = System.nanoTime();
                    // bf16: a b^T with a cast to bf16 inside, as the bf16 linear layers compute
                    NDArray c = bf16 ? Bf16Ops.linear(a, heldB, null) : a.matMul(b);
                    c.toFloatArray();
                    double s = (System.nanoTime() - t0) / 1e9;
                    c.close();
                    if (i > 0) best = Math.min(best, s);
                }
                return 2.0 * 2048 * 2048 * 2048 / best / 1e9;
            }
        }
    }

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = "One generate call: wall time per phase and the process's peak resident memory (VmHWM).")
    static final class Generate implements Callable<Integer> {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        private java.io.PrintWriter out() {
            return spec.commandLine().getOut();
        }

        @picocli.CommandLine.Mixin
        ModelOptions model;

        @Option(names = "--size", defaultValue = "512", description = "Image width and height (default ${DEFAULT-VALUE}).")
        int size;

        @Option(names = "--steps", defaultValue = "2", description = "Denoising steps (default ${DEFAULT-VALUE}).")
        int steps;

        @picocli.CommandLine.Mixin
        ComputeOptions compute;

        @Override
        public Integer call() throws IOException {
            PipelineOptions options = compute.resolve(null);
            long rssStart = status("VmRSS");
            long t0 = System.nanoTime();
            try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model.resolve(), options)) {
                long loaded = System.nanoTime();
                long rssLoaded = status("VmRSS");
                // UNet calls can outnumber steps (PNDM makes steps + 1): time each call
                List<Long> callEnds = new java.util.ArrayList<>();
                long[] textNanos = {0};
                ImageSpec image = RenderSpec.builder().prompt("a photo of a cat").steps(steps).seed(1024L)
                        .size(size, size).build().image(0);
                pipe.render(List.of(image), new io.latentfarm.model.pipeline.ProgressListener() {
                    @Override
                    public void onStep(int step, int total) {
                        callEnds.add(System.nanoTime());
                    }

                    @Override
                    public void onPromptsEncoded(long nanos) {
                        textNanos[0] = nanos;
                    }
                });
                long done = System.nanoTime();
                int calls = callEnds.size();
                long first = callEnds.get(0);
                long last = callEnds.get(calls - 1);
                // the time after the last call is the VAE decode
                double later = calls > 1 ? (last - first) / 1e9 / (calls - 1) : Double.NaN;
                out().printf("bench generate: %s %dx%d, %d steps, %s %s%n", model.model, size, size, steps,
                        options.dtypeName(), options.deviceName());
                out().printf("  load %.2f s, generate %.2f s: text encoder %.2f s, first UNet call %.2f s, %d more calls %.2f s each, VAE decode %.2f s%n",
                        (loaded - t0) / 1e9, (done - loaded) / 1e9, textNanos[0] / 1e9,
                        (first - loaded - textNanos[0]) / 1e9, calls - 1, later, (done - last) / 1e9);
                out().printf("  RSS: start %d MiB, after load %d MiB, peak (VmHWM) %d MiB%n",
                        rssStart >> 10, rssLoaded >> 10, status("VmHWM") >> 10);
            }
            return 0;
        }

        /** A /proc/self/status field in KiB (Linux), or -1. */
        static long status(String field) throws IOException {
            Path p = Paths.get("/proc/self/status");
            if (!Files.exists(p)) return -1;
            for (String line : Files.readAllLines(p)) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
            return -1;
        }
    }
}
