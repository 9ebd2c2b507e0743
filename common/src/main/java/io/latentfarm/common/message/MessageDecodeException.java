package io.latentfarm.common.message;

import io.latentfarm.common.Excerpt;

/**
 * A message that could not be read: not JSON, a wrong type, a value out of range for its type, or
 * a newer schema. Consumers send such messages to the dead-letter topic with {@link #getMessage()}.
 */
public final class MessageDecodeException extends RuntimeException {
    private final String field;

    public MessageDecodeException(String field, String message, Throwable cause) {
        // Bounded: the message goes into rejected events, dead-letter headers and logs.
        super(field == null ? Excerpt.cut(message) : Excerpt.cut(field, Excerpt.QUOTE_CHARS) + ": " + Excerpt.cut(message),
                cause);
        this.field = field == null ? null : Excerpt.cut(field, Excerpt.QUOTE_CHARS);
    }

    /** The JSON path of the offending field ({@code steps}, {@code prompts[1]}), or null if not known. */
    public String field() {
        return field;
    }
}
