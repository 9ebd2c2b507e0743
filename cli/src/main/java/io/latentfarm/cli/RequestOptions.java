package io.latentfarm.cli;

import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.spec.PromptFile;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.common.spec.RenderDefaults;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

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

    @Option(names = "--prompts-file", paramLabel = "FILE",
            description = "Instead of --prompt: a prompt file (.jsonl: one image spec per line, .txt: one prompt per"
                    + " line, .csv with a header), uploaded under the batch's prefix and sent as promptsUri.")
    Path promptsFile;

    @Option(names = "--priority", paramLabel = "N",
            description = "Higher runs first when batches share the workers (default 0).")
    int priority;

    RenderRequest toRequest(String model) {
        return RenderRequest.builder()
                .batchId(batchId)
                .spec(render.toSpec(count).seedMode(seedMode).build())
                .model(model)
                .priority(priority)
                .build();
    }

    /**
     * With {@code --prompts-file}: uploads it as {@code batches/{batch}/prompts.jsonl} (or .txt, .csv)
     * and returns the request pointing at it ({@code promptsUri}); without: the request as it is.
     */
    RenderRequest withPromptsFile(RenderRequest request, ObjectStore store, ObjectKeys keys) {
        if (promptsFile == null) {
            return request;
        }
        PromptFile.Format format;
        try {
            format = PromptFile.Format.of(promptsFile.getFileName().toString());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--prompts-file: " + e.getMessage());
        }
        if (!Files.isRegularFile(promptsFile)) {
            throw new IllegalArgumentException("--prompts-file: " + promptsFile + " is not a file");
        }
        String key = keys.batchPrefix(request.batchId()) + "prompts" + format.extension();
        store.put(key, promptsFile, "text/plain; charset=utf-8");
        return request.toBuilder().promptsUri("s3://" + store.bucket() + "/" + key).build();
    }
}
