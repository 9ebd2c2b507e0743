package io.latentfarm.common.storage;

import io.latentfarm.common.BatchIds;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Object keys for a batch's files:
 * {@code {prefix}batches/{batch}/images/{index:04d}.png} (more digits in batches of more than
 * 10,000 images), {@code .../grid.png}, {@code .../manifest.json}, {@code .../manifest.jsonl}. Keys hold only the operator's prefix, a validated batch id and numbers,
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

    /** {@code {prefix}batches/{batch}/images/0007.png}: four digits, the key of a batch of at most 10,000 images. */
    public String image(String batchId, int index) {
        return image(batchId, index, 1);
    }

    /**
     * {@code {prefix}batches/{batch}/images/0007.png}, with as many digits as the batch's last index
     * needs and at least four ({@code 000007.png} in a batch of 1,000,000 images, whose last index
     * 999999 has six), so the keys of one batch sort in image order.
     */
    public String image(String batchId, int index, int total) {
        if (index < 0) {
            throw new IllegalArgumentException("image index " + index + " is negative");
        }
        return batchPrefix(batchId) + "images/" + imageName(index, total);
    }

    /** {@code 0007.png}: the file name of image {@code index} of a batch of {@code total} (see {@link #image}). */
    public static String imageName(int index, int total) {
        int digits = Math.max(4, Integer.toString(Math.max(0, total - 1)).length());
        String n = Integer.toString(index);
        return "0".repeat(Math.max(0, digits - n.length())) + n + ".png";
    }

    /** {@code {prefix}batches/{batch}/grid.png} */
    public String grid(String batchId) {
        return batchPrefix(batchId) + "grid.png";
    }

    /** {@code {prefix}batches/{batch}/manifest.json} */
    public String manifest(String batchId) {
        return batchPrefix(batchId) + "manifest.json";
    }

    /** {@code {prefix}batches/{batch}/manifest.jsonl}: one line per image, in image order */
    public String manifestLines(String batchId) {
        return batchPrefix(batchId) + "manifest.jsonl";
    }
}
