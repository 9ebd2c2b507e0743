package io.latentfarm.coordinator;

import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.storage.ObjectKeys;

/**
 * Opens the {@link ImageSource} of an accepted request (batch id and seed filled in). The one place
 * that decides where a request's images come from: inline prompts today; a request naming a prompt
 * file gets a source that streams it.
 */
@FunctionalInterface
public interface ImageSources {

    ImageSource open(RenderRequest request);

    /** Every request's images from its inline prompts. */
    static ImageSources inline(ObjectKeys keys) {
        return request -> new InlineImageSource(request, keys);
    }
}
