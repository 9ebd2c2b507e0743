package io.latentfarm.cli;

import io.latentfarm.common.SchedulerRegistry;
import io.latentfarm.common.spec.RenderDefaults;
import io.latentfarm.common.spec.RenderSpec;
import picocli.CommandLine.Option;

import java.util.Iterator;
import java.util.List;

/**
 * The generation options {@code generate}, {@code local} and {@code submit} share, as a
 * {@link RenderSpec}. No defaults of their own: an option left out is left out of the spec, which
 * takes {@link RenderDefaults}' value (the help texts quote that table).
 */
final class RenderOptions {
    @Option(names = "--prompt", paramLabel = "TEXT",
            description = "Prompt; repeat for several (the images go prompt by prompt, shared out evenly).")
    List<String> prompts;

    @Option(names = "--negative-prompt", paramLabel = "TEXT", description = "Negative prompt (default none).")
    String negativePrompt;

    @Option(names = "--steps", description = "Denoising steps (default " + RenderDefaults.STEPS + ").")
    Integer steps;

    @Option(names = "--guidance",
            description = "Classifier-free guidance scale; <= 1 disables it (default " + RenderDefaults.GUIDANCE + ").")
    Double guidance;

    @Option(names = "--seed", description = "Seed of the batch's one generator (default: a random one, reported).")
    Long seed;

    @Option(names = "--width", description = "Width in pixels, a multiple of 8 (default " + RenderDefaults.WIDTH + ").")
    Integer width;

    @Option(names = "--height", description = "Height in pixels, a multiple of 8 (default " + RenderDefaults.HEIGHT + ").")
    Integer height;

    @Option(names = "--scheduler", completionCandidates = SchedulerCandidates.class,
            description = "Sampler (default: the model's own scheduler): ${COMPLETION-CANDIDATES}.")
    String scheduler;

    @Option(names = "--rows", description = "Grid rows (with --cols): rows x cols images, and grid.png.")
    Integer rows;

    @Option(names = "--cols", description = "Grid columns (with --rows).")
    Integer cols;

    /** The spec these options give, with {@code count} images (null: from the grid or the prompts). */
    RenderSpec.Builder toSpec(Integer count) {
        return RenderSpec.builder().prompts(prompts).negativePrompt(negativePrompt).grid(rows, cols).count(count)
                .steps(steps).guidance(guidance).seed(seed).size(width, height).scheduler(scheduler);
    }

    /** The {@code --scheduler} values as help lists them: each short name with its A1111 label, from the registry. */
    static final class SchedulerCandidates implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return SchedulerRegistry.all().stream().map(e -> e.name() + " (" + e.label() + ")").iterator();
        }
    }
}
