package io.latentfarm.coordinator;

/**
 * Where an {@link ImageSource} stands: image {@link #index} is the next to read. A source that
 * streams a file also keeps where that image's line starts ({@link #line}, 1-based, and its byte
 * {@link #offset}) and the index of that line's first image ({@link #lineStart}: a line may make
 * several images), so it can resume there without reading the lines before. An inline source uses
 * only {@code index} ({@link #at(int)}).
 */
public record SourceCursor(int index, long line, long offset, int lineStart) {

    public SourceCursor {
        if (index < 0 || lineStart < 0 || lineStart > index || line < 0 || offset < 0) {
            throw new IllegalArgumentException("inconsistent source cursor: index " + index + ", line " + line
                    + ", offset " + offset + ", lineStart " + lineStart);
        }
    }

    /** Before image 0. */
    public static SourceCursor start() {
        return at(0);
    }

    /** Before image {@code index} of a source that needs no more than the index (inline prompts). */
    public static SourceCursor at(int index) {
        return new SourceCursor(index, 0, 0, index);
    }
}
