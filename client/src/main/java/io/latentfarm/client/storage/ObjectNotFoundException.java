package io.latentfarm.client.storage;

/** The key is not in the bucket. */
public final class ObjectNotFoundException extends RuntimeException {
    public ObjectNotFoundException(String bucket, String key) {
        super("no object " + key + " in bucket " + bucket);
    }
}
