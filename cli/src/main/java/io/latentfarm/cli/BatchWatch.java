package io.latentfarm.cli;

import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.BatchClient;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Following a batch to its end, saying what happened, and fetching its files: shared by submit, fetch and local. */
final class BatchWatch {
    static final int EXIT_REJECTED = 2;
    static final int EXIT_FAILED = 3;
    static final int EXIT_TIMEOUT = 4;
    static final int EXIT_CANCELLED = 5;

    private BatchWatch() {
    }

    /** Waits for the final event with a progress bar over the batch's images. */
    static Optional<BatchEvent> await(BatchClient.Events events, Duration timeout, PrintWriter out) {
        try (ProgressBar bar = ProgressBar.forTerminal("images")) {
            return events.awaitFinal(timeout, e -> {
                switch (e.type()) {
                    case ACCEPTED -> {
                        out.println("accepted: " + e.total() + " image(s), seed " + e.request().seed());
                        out.flush();
                        bar.update(0, e.total());
                    }
                    case PROGRESS -> {
                        if (e.done() != null && e.total() != null) {
                            bar.update(e.done(), e.total());
                        }
                    }
                    case COMPLETED -> bar.update(e.total(), e.total());
                    default -> {
                    }
                }
            });
        }
    }

    /**
     * Prints the outcome, a completed batch's warnings too (one line each); returns the exit code
     * (0 only for completed; 2 rejected, 3 failed, 4 no outcome within the timeout, 5 cancelled).
     */
    static int report(String batchId, Optional<BatchEvent> last, Duration timeout, PrintWriter out, PrintWriter err) {
        if (last.isEmpty()) {
            err.println("latentfarm: batch " + batchId + " did not finish within " + human(timeout)
                    + "; it may still be running: latentfarm status " + batchId);
            err.flush();
            return EXIT_TIMEOUT;
        }
        BatchEvent e = last.get();
        switch (e.type()) {
            case COMPLETED -> {
                out.println("completed: batch " + batchId);
                if (e.gridKey() != null) { // none for a batch without rows x cols, or too large for one
                    out.println("  grid:     s3://" + e.bucket() + "/" + e.gridKey());
                }
                out.println("  manifest: s3://" + e.bucket() + "/" + e.manifestKey());
                if (e.imageKeys() != null) { // not listed for large batches: manifest.jsonl has them
                    out.println("  images:   s3://" + e.bucket() + "/" + e.imageKeys().get(0)
                            + (e.imageKeys().size() > 1 ? " ... (" + e.imageKeys().size() + ")" : ""));
                } else {
                    out.println("  images:   " + e.total() + ", listed in manifest.jsonl");
                }
                if (e.warnings() != null) {
                    e.warnings().forEach(w -> out.println("warning: " + w));
                }
                out.flush();
                return 0;
            }
            case REJECTED -> {
                err.println("latentfarm: batch " + batchId + " rejected: " + e.reason());
                err.flush();
                return EXIT_REJECTED;
            }
            case CANCELLED -> {
                err.println("latentfarm: batch " + batchId + " cancelled: " + e.reason());
                err.flush();
                return EXIT_CANCELLED;
            }
            default -> {
                err.println("latentfarm: batch " + batchId + " " + e.type().name().toLowerCase() + ": " + e.reason());
                err.flush();
                return EXIT_FAILED;
            }
        }
    }

    /**
     * Writes the batch's images as {@code 0000.png ...}, {@code grid.png} and {@code manifest.json}
     * into {@code dir}, as listed under the batch's prefix.
     */
    static List<Path> download(ObjectStore store, ObjectKeys keys, String batchId, Path dir) throws IOException {
        Files.createDirectories(dir);
        String prefix = keys.batchPrefix(batchId);
        List<Path> written = new ArrayList<>();
        for (String key : store.list(prefix)) {
            String rest = key.substring(prefix.length());
            String name = rest.startsWith("images/") ? rest.substring("images/".length()) : rest;
            if (name.isEmpty() || name.contains("/") || name.startsWith(".")) {
                continue; // only files this project writes
            }
            Path file = dir.resolve(name);
            Files.write(file, store.get(key));
            written.add(file);
        }
        if (written.isEmpty()) {
            throw new IllegalStateException("no objects under s3://" + store.bucket() + "/" + prefix);
        }
        return written;
    }

    static String human(Duration d) {
        long s = d.toSeconds();
        return s >= 3600 && s % 60 == 0 ? s / 3600 + " h " + s % 3600 / 60 + " min"
                : s >= 60 ? s / 60 + " min " + s % 60 + " s" : d.toMillis() / 1000.0 + " s";
    }

    /** "4 image(s)", or where a prompt file's images come from (the coordinator counts them). */
    static String images(RenderRequest request) {
        return request.promptsUri() != null ? "images from " + request.promptsUri()
                : request.imageCount() + " image(s)";
    }
}
