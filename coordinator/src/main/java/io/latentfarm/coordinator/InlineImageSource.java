package io.latentfarm.coordinator;

import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.storage.ObjectKeys;

import java.util.Objects;

/**
 * The images of a request that carries its prompts: image {@code i}'s job is
 * {@link RenderJob#forImage}, its key {@link ObjectKeys#image(String, int, int)}; any cursor reads
 * in O(1).
 */
record InlineImageSource(RenderRequest request, ObjectKeys keys) implements ImageSource {

    InlineImageSource {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(keys, "keys");
    }

    @Override
    public int total() {
        return request.imageCount();
    }

    @Override
    public SourceCursor find(int index) {
        return SourceCursor.at(index);
    }

    @Override
    public Read read(SourceCursor at) {
        int i = at.index();
        if (i >= total()) {
            throw new IllegalArgumentException("image " + i + " is past the batch's " + total() + " images");
        }
        RenderJob job = RenderJob.forImage(request, i, keys.image(request.batchId(), i, total()));
        return new Read(job, SourceCursor.at(i + 1));
    }
}
