package io.latentfarm.cli;

import io.latentfarm.common.image.GenerationParameters;
import io.latentfarm.common.image.Grid;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.common.spec.RenderSpec;
import io.latentfarm.common.validation.Limits;
import io.latentfarm.common.validation.RequestValidator;
import io.latentfarm.common.validation.Violation;
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

    @picocli.CommandLine.Mixin
    RenderOptions render;

    @Option(names = "--images-per-prompt", defaultValue = "1", description = "Images per prompt (default ${DEFAULT-VALUE}).")
    int imagesPerPrompt;

    @Option(names = "--variant", description = "Weights variant, e.g. fp16 (diffusion_pytorch_model.fp16.safetensors).")
    String variant;

    @Option(names = "--out", required = true, description = "Output folder.")
    Path out;

    @picocli.CommandLine.Mixin
    ComputeOptions compute;

    /**
     * What one process accepts for itself: the request validator's checks with wider limits than a
     * cluster's (any size from 8 pixels, up to 1000 steps).
     */
    static final Limits LIMITS = Limits.DEFAULTS.withMinSize(8).withMaxSize(8192, 8192).withMaxSteps(1000)
            .withGuidanceRange(0, 100);

    @Override
    public Integer call() throws IOException {
        boolean randomSeed = render.seed == null;
        long s = randomSeed ? new SecureRandom().nextLong() & 0xffff_ffffL : render.seed;
        if (imagesPerPrompt < 1) {
            throw new IllegalArgumentException("--images-per-prompt: " + imagesPerPrompt + " is below 1");
        }
        RenderSpec spec = render.toSpec(render.prompts.size() * imagesPerPrompt).seed(s).build();
        List<Violation> violations = new RequestValidator(LIMITS).validate(spec);
        if (!violations.isEmpty()) {
            throw new IllegalArgumentException(violations.stream().map(Violation::toString)
                    .collect(java.util.stream.Collectors.joining("; ")));
        }
        io.latentfarm.model.files.ModelFiles modelFiles = model.resolve();
        PipelineOptions options = compute.resolve(variant);
        if (randomSeed) {
            out().println("seed: " + s);
        }
        Files.createDirectories(out);
        List<ImageSpec> specs = spec.images();
        List<RgbImage> images = new ArrayList<>();
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(modelFiles, options);
             ProgressBar bar = ProgressBar.forTerminal("denoising")) {
            String schedulerName = pipe.schedulerName(spec.scheduler()); // fails here, before any step, if it cannot run
            // image by image, as workers render: the same request gives the same bytes here and
            // from the cluster, whatever the batch size
            List<RenderedImage> rendered = pipe.render(specs, bar::update);
            for (RenderedImage r : rendered) {
                RgbImage img = new RgbImage(r.width(), r.height(), r.rgb());
                images.add(img);
                GenerationParameters params = GenerationParameters.of(specs.get(r.index()), schedulerName,
                        pipe.modelLabel()).withCompute(options.deviceName(), options.dtypeName());
                Path file = out.resolve(String.format("%04d.png", r.index()));
                Files.write(file, Png.encode(img, params));
                out().println("wrote " + file);
            }
        }
        if (spec.hasGrid()) {
            Path grid = out.resolve("grid.png");
            Files.write(grid, Png.encode(Grid.compose(images, spec.rows(), spec.cols())));
            out().println("wrote " + grid);
        }
        return 0;
    }
}
