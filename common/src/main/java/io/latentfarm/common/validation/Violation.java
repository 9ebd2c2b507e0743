package io.latentfarm.common.validation;

import io.latentfarm.common.Excerpt;

import java.util.Objects;

/**
 * One thing wrong with a request: the field, and what is wrong with it in words that name the limit.
 * {@link #toString()} gives {@code "steps: 0 is outside 1..150"}.
 */
public record Violation(String field, String message) {
    public Violation {
        Objects.requireNonNull(field, "field");
        Objects.requireNonNull(message, "message");
        // Violations are echoed in rejected events: never let one carry a whole oversized value.
        field = Excerpt.cut(field, Excerpt.QUOTE_CHARS);
        message = Excerpt.cut(message);
    }

    @Override
    public String toString() {
        return field + ": " + message;
    }
}
