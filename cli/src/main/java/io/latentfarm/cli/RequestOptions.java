package io.latentfarm.cli;

import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.spec.RenderDefaults;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The options of a render request ({@code local}, {@code submit}): the shared generation options plus the batch's own. */
final class RequestOptions {
    @Mixin
    RenderOptions render;

    @Option(names = "--count", description = "Number of images, without --rows/--cols (default: one per prompt).")
    Integer count;

    @Option(names = "--seed-mode", paramLabel = "MODE",
            description = "batch (diffusers: one generator for the batch) or per-image (seed + i) (default "
                    + RenderDefaults.SEED_MODE + ").")
    String seedMode;

    @Option(names = "--batch-id", description = "Batch id (default: a new UUID).")
    String batchId;

    RenderRequest toRequest(String model) {
        return RenderRequest.builder()
                .batchId(batchId)
                .spec(render.toSpec(count).seedMode(seedMode).build())
                .model(model)
                .build();
    }
}
