package io.latentfarm.cli;

import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.client.storage.ObjectStoreConfig;
import picocli.CommandLine.Option;

import java.net.URI;

/** Where the object store is; options, or the services' environment variables. */
final class S3Options {
    @Option(names = "--s3-endpoint", paramLabel = "URL", defaultValue = "${env:LATENTFARM_S3_ENDPOINT}",
            description = "S3-compatible endpoint, e.g. http://127.0.0.1:9000 (env LATENTFARM_S3_ENDPOINT; none: AWS S3).")
    String endpoint;

    @Option(names = "--bucket", defaultValue = "${env:LATENTFARM_S3_BUCKET:-latentfarm}",
            description = "Bucket (env LATENTFARM_S3_BUCKET, default ${DEFAULT-VALUE}).")
    String bucket;

    @Option(names = "--s3-region", defaultValue = "${env:LATENTFARM_S3_REGION:-us-east-1}",
            description = "Signing region (env LATENTFARM_S3_REGION, default ${DEFAULT-VALUE}).")
    String region;

    @Option(names = "--key-prefix", defaultValue = "${env:LATENTFARM_S3_KEY_PREFIX:-}",
            description = "Key prefix the services use (env LATENTFARM_S3_KEY_PREFIX, default none).")
    String keyPrefix;

    @Option(names = "--access-key", defaultValue = "${env:LATENTFARM_S3_ACCESS_KEY}",
            description = "Access key (env LATENTFARM_S3_ACCESS_KEY; none: the AWS default credential chain).")
    String accessKey;

    @Option(names = "--secret-key", defaultValue = "${env:LATENTFARM_S3_SECRET_KEY}",
            description = "Secret key (env LATENTFARM_S3_SECRET_KEY).")
    String secretKey;

    ObjectStoreConfig config() {
        boolean custom = endpoint != null && !endpoint.isBlank();
        String access = accessKey == null || accessKey.isBlank() ? null : accessKey;
        String secret = secretKey == null || secretKey.isBlank() ? null : secretKey;
        return new ObjectStoreConfig(custom ? URI.create(endpoint.trim()) : null, region, bucket, access, secret, custom,
                keyPrefix);
    }

    ObjectKeys keys() {
        return config().keys();
    }
}
