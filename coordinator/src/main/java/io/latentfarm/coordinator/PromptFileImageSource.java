package io.latentfarm.coordinator;

import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.spec.PromptFile;
import io.latentfarm.common.storage.ObjectKeys;

import java.io.InputStream;
import java.util.Objects;

/**
 * The images of a request whose lines are a prompt file in the object store ({@code promptsUri}),
 * streamed in index order: consecutive reads continue one open stream; any other cursor (a retry,
 * the first read after a restart) reopens the file and skips to the cursor's byte offset, so memory
 * stays one line whatever the file's size.
 */
final class PromptFileImageSource implements ImageSource {
    private final ObjectStore store;
    private final ObjectKeys keys;
    private final RenderRequest request;
    private final int total;
    private final PromptFile.Location location;
    private PromptFile.CloseableIterator<PromptFile.Image> open;
    private SourceCursor openAt;

    PromptFileImageSource(ObjectStore store, ObjectKeys keys, RenderRequest request, int total) {
        this.store = Objects.requireNonNull(store, "store");
        this.keys = Objects.requireNonNull(keys, "keys");
        this.request = Objects.requireNonNull(request, "request");
        this.total = total;
        this.location = PromptFile.Location.parse(request.promptsUri());
    }

    @Override
    public int total() {
        return total;
    }

    @Override
    public Read read(SourceCursor at) {
        if (at.index() >= total) {
            throw new IllegalArgumentException("image " + at.index() + " is past the batch's " + total + " images");
        }
        if (open == null || !at.equals(openAt)) {
            reopen(at);
        }
        if (!open.hasNext()) {
            throw new IllegalStateException(request.promptsUri() + " ended before image " + at.index()
                    + " (changed since it was validated?)");
        }
        PromptFile.Image image = open.next();
        SourceCursor next = cursor(image.next());
        openAt = next;
        String key = keys.image(request.batchId(), (int) image.index(), total);
        RenderJob job = RenderJob.forImage(request.batchId(), (int) image.index(), total, image.spec(),
                request.model(), key);
        return new Read(job, next);
    }

    @Override
    public SourceCursor find(int index) {
        // The lines before it decide where image index starts: read through them (the web page's
        // paging; the fan-out keeps its cursors and never needs this).
        SourceCursor at = SourceCursor.start();
        while (at.index() < index) {
            at = read(at).next();
        }
        return at;
    }

    @Override
    public void close() {
        if (open != null) {
            open.close();
            open = null;
            openAt = null;
        }
    }

    private void reopen(SourceCursor at) {
        close();
        InputStream in = store.stream(location.key()).orElseThrow(() -> new IllegalStateException(
                request.promptsUri() + " is gone (deleted since it was validated?)"));
        open = PromptFile.images(in, location.format(), request.spec(), total, promptCursor(at));
        openAt = at;
    }

    private static PromptFile.Cursor promptCursor(SourceCursor at) {
        return at.index() == 0 ? PromptFile.Cursor.START
                : new PromptFile.Cursor(at.line(), at.offset(), at.index() - at.lineStart(), at.index());
    }

    private static SourceCursor cursor(PromptFile.Cursor c) {
        return new SourceCursor((int) c.index(), c.line(), c.byteOffset(), (int) (c.index() - c.imageInLine()));
    }
}
