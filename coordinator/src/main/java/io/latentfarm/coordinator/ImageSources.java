package io.latentfarm.coordinator;

import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.storage.ObjectKeys;

/**
 * Opens the {@link ImageSource} of an accepted request (batch id and seed filled in). The one place
 * that decides where a request's images come from; {@link #inline} reads the request's own prompts.
 * A source for prompt files streamed from the object store plugs in here as another implementation.
 */
@FunctionalInterface
public interface ImageSources {

    ImageSource open(RenderRequest request);

    /** Every request's images from its inline prompts. */
    static ImageSources inline(ObjectKeys keys) {
        return request -> new InlineImageSource(request, keys);
    }
}
