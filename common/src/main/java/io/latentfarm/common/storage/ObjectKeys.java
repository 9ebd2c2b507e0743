package io.latentfarm.common.storage;

import io.latentfarm.common.BatchIds;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Object keys for a batch's files:
 * {@code {prefix}batches/{batch}/images/{index:04d}.png}, {@code .../grid.png},
 * {@code .../manifest.json}. Keys hold only the operator's prefix, a validated batch id and numbers,
 * never user text.
 *
 * @param prefix operator-chosen key prefix; empty, or ending in "/" (added when missing)
 */
public record ObjectKeys(String prefix) {
    private static final Pattern PREFIX = Pattern.compile("([A-Za-z0-9._-]+/)*");

    public ObjectKeys {
        Objects.requireNonNull(prefix, "prefix");
        if (!prefix.isEmpty() && !prefix.endsWith("/")) {
            prefix = prefix + "/";
        }
        if (!PREFIX.matcher(prefix).matches() || prefix.contains("/../") || prefix.startsWith("../")) {
            throw new IllegalArgumentException("key prefix \"" + prefix
                    + "\" must be path segments of A-Z a-z 0-9 . _ - separated by /");
        }
    }

    /** Keys at the bucket's root ({@code batches/...}). */
    public static ObjectKeys root() {
        return new ObjectKeys("");
    }

    /** {@code {prefix}batches/{batch}/}: everything of one batch, for listing. */
    public String batchPrefix(String batchId) {
        return prefix + "batches/" + BatchIds.requireValid(batchId) + "/";
    }

    /** {@code {prefix}batches/{batch}/images/0007.png} */
    public String image(String batchId, int index) {
        if (index < 0) {
            throw new IllegalArgumentException("image index " + index + " is negative");
        }
        return batchPrefix(batchId) + "images/" + String.format("%04d", index) + ".png";
    }

    /** {@code {prefix}batches/{batch}/grid.png} */
    public String grid(String batchId) {
        return batchPrefix(batchId) + "grid.png";
    }

    /** {@code {prefix}batches/{batch}/manifest.json} */
    public String manifest(String batchId) {
        return batchPrefix(batchId) + "manifest.json";
    }
}
