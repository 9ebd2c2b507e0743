package io.latentfarm.client.storage;

import io.latentfarm.common.storage.ObjectKeys;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Creator;
import io.micronaut.core.annotation.Nullable;

import java.net.URI;
import java.util.Objects;

/**
 * Where the object store is, how to sign in, and where under the bucket latentfarm's keys go:
 * {@code latentfarm.s3.*} of both services (defaults in their {@code application-*.yml}, meanings in
 * {@code docs/configuration.md}), or the CLI's S3 options.
 *
 * @param endpoint  an S3-compatible server (S3Proxy, MinIO, ...), or null (or empty) for AWS itself
 * @param region    signing region; S3-compatible servers accept "us-east-1"
 * @param bucket    the bucket everything goes to
 * @param accessKey explicit credentials with {@code secretKey}; both null (or empty) means the SDK's
 *                  default chain (environment, system properties, profile, web identity, instance role)
 * @param pathStyle {@code http://host/bucket/key} instead of {@code http://bucket.host/key}; what
 *                  S3-compatible servers on an IP address or localhost need
 * @param keyPrefix the operator's prefix before every key latentfarm writes (empty: the bucket's root)
 */
@ConfigurationProperties("latentfarm.s3")
public record ObjectStoreConfig(@Nullable URI endpoint, String region, String bucket, @Nullable String accessKey,
                                @Nullable String secretKey, boolean pathStyle, @Nullable String keyPrefix) {
    /** The region S3-compatible servers accept. */
    public static final String S3_COMPATIBLE_REGION = "us-east-1";

    @Creator
    public ObjectStoreConfig {
        endpoint = endpoint == null || endpoint.toString().isBlank() ? null : endpoint;
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(bucket, "bucket");
        accessKey = blankToNull(accessKey);
        secretKey = blankToNull(secretKey);
        keyPrefix = keyPrefix == null ? "" : keyPrefix.trim();
        if ((accessKey == null) != (secretKey == null)) {
            throw new IllegalArgumentException("give both accessKey and secretKey, or neither");
        }
    }

    /** Keys at the bucket's root. */
    public ObjectStoreConfig(URI endpoint, String region, String bucket, String accessKey, String secretKey,
                             boolean pathStyle) {
        this(endpoint, region, bucket, accessKey, secretKey, pathStyle, "");
    }

    /** An S3-compatible server at {@code endpoint} with fixed keys, path-style, region us-east-1. */
    public static ObjectStoreConfig s3Compatible(URI endpoint, String bucket, String accessKey, String secretKey) {
        return new ObjectStoreConfig(endpoint, S3_COMPATIBLE_REGION, bucket, accessKey, secretKey, true);
    }

    /** AWS S3 in {@code region}, credentials from the default chain. */
    public static ObjectStoreConfig aws(String region, String bucket) {
        return new ObjectStoreConfig(null, region, bucket, null, null, false);
    }

    /** The key layout under {@link #keyPrefix}. */
    public ObjectKeys keys() {
        return new ObjectKeys(keyPrefix);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    @Override
    public String toString() { // keeps the secret out of logs
        return "ObjectStoreConfig[endpoint=" + endpoint + ", region=" + region + ", bucket=" + bucket
                + ", accessKey=" + accessKey + ", secretKey=" + (secretKey == null ? null : "***")
                + ", pathStyle=" + pathStyle + ", keyPrefix=" + keyPrefix + "]";
    }
}
