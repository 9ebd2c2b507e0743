package io.latentfarm.coordinator;

import io.latentfarm.common.message.RenderJob;

/**
 * Where a batch's images come from, in index order: the coordinator releases a window of images at
 * a time, reading each image's job here, and keeps only the {@link SourceCursor} of the next image
 * (in the batch summary) and of each image in flight (to issue it again), never the whole batch.
 *
 * <p>An inline request's source is {@link InlineImageSource}; a prompt file streamed from the
 * object store plugs in as another implementation, picked by {@link ImageSources}. Reads at
 * consecutive cursors are the common case (a file source keeps its stream open for them); a read
 * at any other cursor (a retry, or the first read after a restart) must work too. Used from one
 * thread (the coordinator's loop) at a time.
 */
public interface ImageSource extends AutoCloseable {

    /** @param job the image's job, first attempt; @param next the cursor of the image after it */
    record Read(RenderJob job, SourceCursor next) {
    }

    /** How many images the batch has. */
    int total();

    /**
     * The job of image {@code at.index()} (first attempt) and the cursor after it.
     *
     * @throws IllegalArgumentException if {@code at.index()} is not below {@link #total()}
     */
    Read read(SourceCursor at);

    /**
     * The cursor of image {@code index}, for reading from there (the web page's pages of images).
     * An inline source computes it; a file source may have to read the lines before it.
     */
    SourceCursor find(int index);

    /** Releases what the source holds open (a stream); it may be read again afterwards. */
    @Override
    default void close() {
    }
}
