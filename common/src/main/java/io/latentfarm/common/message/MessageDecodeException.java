package io.latentfarm.common.message;

/**
 * A message that could not be read: not JSON, a wrong type, a value out of range for its type, or
 * a newer schema. Consumers send such messages to the dead-letter topic with {@link #getMessage()}.
 */
public final class MessageDecodeException extends RuntimeException {
    private final String field;

    public MessageDecodeException(String field, String message, Throwable cause) {
        super(field == null ? message : field + ": " + message, cause);
        this.field = field;
    }

    /** The JSON path of the offending field ({@code steps}, {@code prompts[1]}), or null if not known. */
    public String field() {
        return field;
    }
}
