package io.latentfarm.model.files;

/**
 * A model folder, config or weights file that cannot be used. The message is one line that names
 * the file (and tensor) and the problem, fit to show a user as it is.
 */
public class ModelException extends RuntimeException {
    public ModelException(String message) {
        super(message);
    }

    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
