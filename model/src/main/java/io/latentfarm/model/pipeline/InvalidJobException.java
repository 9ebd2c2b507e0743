package io.latentfarm.model.pipeline;

/**
 * A render that fails the same way however often it is tried: invalid parameters, a scheduler
 * config no implemented sampler supports. The worker fails such a job at once, without a retry.
 * The message is the one clear reason (field or file and key), for users, without a stack trace.
 */
public final class InvalidJobException extends RuntimeException {
    public InvalidJobException(String message, Throwable cause) {
        super(message, cause);
    }
}
