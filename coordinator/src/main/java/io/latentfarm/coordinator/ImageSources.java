package io.latentfarm.coordinator;

import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.storage.ObjectKeys;

/**
 * Opens the {@link ImageSource} of an accepted request (batch id and seed filled in). The one place
 * that decides where a request's images come from: its inline prompts, or its prompt file.
 */
@FunctionalInterface
public interface ImageSources {

    /** @param total the batch's images, as counted when it was accepted */
    ImageSource open(RenderRequest request, int total);

    /** A request's prompt file ({@code promptsUri}) streamed from {@code store}, else its inline prompts. */
    static ImageSources of(ObjectKeys keys, ObjectStore store) {
        return (request, total) -> request.promptsUri() != null
                ? new PromptFileImageSource(store, keys, request, total)
                : new InlineImageSource(request, keys);
    }
}
