package io.latentfarm.common;

import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Batch ids: they become parts of object keys and Kafka keys, so they are restricted to
 * {@code [A-Za-z0-9_-]{1,64}} and never carry other user text.
 */
public final class BatchIds {
    public static final Pattern PATTERN = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    private BatchIds() {
    }

    /** A fresh random id (a UUID, 36 characters), for requests that come without one. */
    public static String newId() {
        return UUID.randomUUID().toString();
    }

    public static boolean isValid(String batchId) {
        return batchId != null && PATTERN.matcher(batchId).matches();
    }

    /** @throws IllegalArgumentException naming the rule when the id is not valid */
    public static String requireValid(String batchId) {
        if (!isValid(batchId)) {
            throw new IllegalArgumentException(describeInvalid(batchId));
        }
        return batchId;
    }

    static String describeInvalid(String batchId) {
        return "batchId " + Excerpt.quote(batchId)
                + " must be 1 to 64 of the characters A-Z a-z 0-9 _ -";
    }
}
