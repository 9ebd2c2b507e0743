package io.latentfarm.client.storage;

import java.net.URI;
import java.util.Objects;

/**
 * Where the object store is and how to sign in.
 *
 * @param endpoint  an S3-compatible server (S3Proxy, MinIO, ...), or null for AWS itself
 * @param region    signing region; S3-compatible servers accept "us-east-1"
 * @param bucket    the bucket everything goes to
 * @param accessKey explicit credentials with {@code secretKey}; both null means the SDK's default
 *                  chain (environment, system properties, profile, web identity, instance role)
 * @param pathStyle {@code http://host/bucket/key} instead of {@code http://bucket.host/key}; what
 *                  S3-compatible servers on an IP address or localhost need
 */
public record ObjectStoreConfig(URI endpoint, String region, String bucket, String accessKey, String secretKey,
                                boolean pathStyle) {
    public static final String DEFAULT_REGION = "us-east-1";

    public ObjectStoreConfig {
        Objects.requireNonNull(bucket, "bucket");
        region = region == null || region.isBlank() ? DEFAULT_REGION : region;
        if ((accessKey == null) != (secretKey == null)) {
            throw new IllegalArgumentException("give both accessKey and secretKey, or neither");
        }
    }

    /** An S3-compatible server at {@code endpoint} with fixed keys, path-style, region us-east-1. */
    public static ObjectStoreConfig s3Compatible(URI endpoint, String bucket, String accessKey, String secretKey) {
        return new ObjectStoreConfig(endpoint, DEFAULT_REGION, bucket, accessKey, secretKey, true);
    }

    /** AWS S3 in {@code region}, credentials from the default chain. */
    public static ObjectStoreConfig aws(String region, String bucket) {
        return new ObjectStoreConfig(null, region, bucket, null, null, false);
    }

    @Override
    public String toString() { // keeps the secret out of logs
        return "ObjectStoreConfig[endpoint=" + endpoint + ", region=" + region + ", bucket=" + bucket
                + ", accessKey=" + accessKey + ", secretKey=" + (secretKey == null ? null : "***")
                + ", pathStyle=" + pathStyle + "]";
    }
}
