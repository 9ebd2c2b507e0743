package io.latentfarm.cli;

import io.latentfarm.common.image.GenerationParameters;
import io.latentfarm.common.image.Grid;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import io.latentfarm.model.pipeline.GenerationRequest;
import io.latentfarm.model.pipeline.PipelineOptions;
import io.latentfarm.model.pipeline.RenderedImage;
import io.latentfarm.model.pipeline.StableDiffusionPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code latentfarm generate}: the notebook's {@code pipe(prompt, generator=...)} in one process,
 * no Kafka. Writes DIR/0000.png, 0001.png, ... in diffusers' output order and, with --rows/--cols,
 * DIR/grid.png row by row.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Render images from prompts in this process (no Kafka, no object store).")
public final class GenerateCommand implements Callable<Integer> {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    private java.io.PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @picocli.CommandLine.Mixin
    ModelOptions model;

    @Option(names = "--prompt", required = true, description = "Prompt; repeat for several (each gets --images-per-prompt images).")
    List<String> prompts;

    @Option(names = "--negative-prompt", defaultValue = "", description = "Negative prompt (default empty).")
    String negativePrompt;

    @Option(names = "--images-per-prompt", defaultValue = "1", description = "Images per prompt (default ${DEFAULT-VALUE}).")
    int imagesPerPrompt;

    @Option(names = "--steps", defaultValue = "50", description = "Denoising steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--guidance", defaultValue = "7.5", description = "Classifier-free guidance scale; <= 1 disables it (default ${DEFAULT-VALUE}).")
    double guidance;

    @Option(names = "--seed", description = "Seed of the one generator for the call (default: random, printed).")
    Long seed;

    @Option(names = "--width", defaultValue = "512", description = "Width in pixels, a multiple of 8 (default ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--height", defaultValue = "512", description = "Height in pixels, a multiple of 8 (default ${DEFAULT-VALUE}).")
    int height;

    @Option(names = "--scheduler", completionCandidates = SchedulerNames.class, description = SchedulerNames.DESCRIPTION)
    String scheduler;

    @Option(names = "--rows", description = "Grid rows (with --cols): also writes grid.png.")
    Integer rows;

    @Option(names = "--cols", description = "Grid columns (with --rows).")
    Integer cols;

    @Option(names = "--variant", description = "Weights variant, e.g. fp16 (diffusion_pytorch_model.fp16.safetensors).")
    String variant;

    @Option(names = "--out", required = true, description = "Output folder.")
    Path out;

    @picocli.CommandLine.Mixin
    ComputeOptions compute;

    @Override
    public Integer call() throws IOException {
        if ((rows == null) != (cols == null)) {
            throw new IllegalArgumentException("--rows and --cols go together");
        }
        SchedulerNames.check("--scheduler", scheduler);
        boolean randomSeed = seed == null;
        long s = randomSeed ? new SecureRandom().nextLong() & 0xffff_ffffL : seed;
        GenerationRequest request = new GenerationRequest(prompts, negativePrompt, imagesPerPrompt, steps,
                guidance, s, width, height, scheduler);
        request.validate();
        if (rows != null && rows * cols != request.batchSize()) {
            throw new IllegalArgumentException("--rows x --cols is " + rows * cols + " but the call draws "
                    + request.batchSize() + " images (" + prompts.size() + " prompt(s) x " + imagesPerPrompt + ")");
        }
        io.latentfarm.model.files.ModelFiles modelFiles = model.resolve();
        PipelineOptions options = compute.resolve(variant);
        if (randomSeed) {
            out().println("seed: " + s);
        }
        Files.createDirectories(out);
        List<RgbImage> images = new ArrayList<>();
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(modelFiles, options);
             ProgressBar bar = ProgressBar.forTerminal("denoising")) {
            String schedulerName = pipe.schedulerName(scheduler); // fails here, before any step, if it cannot run
            int[] all = new int[request.batchSize()];
            for (int i = 0; i < all.length; i++) all[i] = i;
            // image by image, as workers render: the same request gives the same bytes here and
            // from the cluster, whatever the batch size
            List<RenderedImage> rendered = pipe.generate(request, all, bar::update);
            for (RenderedImage r : rendered) {
                RgbImage img = new RgbImage(r.width(), r.height(), r.rgb());
                images.add(img);
                GenerationParameters params = new GenerationParameters(request.promptOf(r.index()), negativePrompt,
                        steps, schedulerName, guidance, s, width, height, pipe.modelLabel(), request.batchSize(), r.index(),
                        options.deviceName(), options.dtypeName());
                Path file = out.resolve(String.format("%04d.png", r.index()));
                Files.write(file, Png.encode(img, params));
                out().println("wrote " + file);
            }
        }
        if (rows != null) {
            Path grid = out.resolve("grid.png");
            Files.write(grid, Png.encode(Grid.compose(images, rows, cols)));
            out().println("wrote " + grid);
        }
        return 0;
    }
}
