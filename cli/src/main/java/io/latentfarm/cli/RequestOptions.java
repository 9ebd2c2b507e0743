package io.latentfarm.cli;

import io.latentfarm.common.message.RenderRequest;
import picocli.CommandLine.Option;

import java.util.List;

/** The generate options, as a render request: prompts, grid or count, and the diffusers parameters. */
final class RequestOptions {
    @Option(names = "--prompt", required = true, paramLabel = "TEXT",
            description = "Prompt; repeat for several (the images are shared out evenly, prompt by prompt).")
    List<String> prompts;

    @Option(names = "--negative-prompt", paramLabel = "TEXT", description = "Negative prompt (default none).")
    String negativePrompt;

    @Option(names = "--rows", description = "Grid rows (with --cols): rows x cols images, and grid.png.")
    Integer rows;

    @Option(names = "--cols", description = "Grid columns (with --rows).")
    Integer cols;

    @Option(names = "--count", description = "Number of images, without --rows/--cols (default: one per prompt).")
    Integer count;

    @Option(names = "--steps", defaultValue = "50", description = "Denoising steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--guidance", defaultValue = "7.5",
            description = "Classifier-free guidance scale; <= 1 disables it (default ${DEFAULT-VALUE}).")
    double guidance;

    @Option(names = "--seed", description = "Seed of the batch's generator (default: the coordinator picks one and reports it).")
    Long seed;

    @Option(names = "--width", defaultValue = "512", description = "Width, a multiple of 8 (default ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--height", defaultValue = "512", description = "Height, a multiple of 8 (default ${DEFAULT-VALUE}).")
    int height;

    @Option(names = "--scheduler", completionCandidates = SchedulerNames.class, description = SchedulerNames.DESCRIPTION)
    String scheduler;

    @Option(names = "--seed-mode", defaultValue = "batch",
            description = "batch (diffusers: one generator for the batch) or per-image (seed + i) (default ${DEFAULT-VALUE}).")
    String seedMode;

    @Option(names = "--batch-id", description = "Batch id (default: a new UUID).")
    String batchId;

    RenderRequest toRequest(String model) {
        return RenderRequest.builder()
                .batchId(batchId)
                .prompts(prompts)
                .negativePrompt(negativePrompt)
                .grid(rows, cols)
                .count(count)
                .steps(steps)
                .guidance(guidance)
                .seed(seed)
                .size(width, height)
                .scheduler(scheduler)
                .seedMode(seedMode)
                .model(model)
                .build();
    }
}
