package io.latentfarm.common.message;

/** A message on one of the topics: JSON with a schema version, so readers can refuse what they do not know. */
public interface Message {
    /** The version this code writes and the newest it reads. */
    int SCHEMA_VERSION = 1;

    int schemaVersion();

    /** A missing version (0 after decoding) means version 1, the first one. */
    static int normalizeVersion(int schemaVersion) {
        return schemaVersion == 0 ? SCHEMA_VERSION : schemaVersion;
    }
}
