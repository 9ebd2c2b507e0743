package io.latentfarm.client.storage;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The bucket this project writes to: put, get, exists, list, delete by key. AWS SDK v2 over the
 * JDK's HTTP client, so it works with AWS S3 and with S3-compatible servers (S3Proxy, MinIO).
 * Thread-safe; close it when done. SDK failures other than a missing key surface as the SDK's
 * (unchecked) {@code SdkException}.
 */
public final class ObjectStore implements AutoCloseable {
    private final S3Client s3;
    private final String bucket;

    private ObjectStore(S3Client s3, String bucket) {
        this.s3 = s3;
        this.bucket = bucket;
    }

    public static ObjectStore open(ObjectStoreConfig config) {
        S3ClientBuilder builder = S3Client.builder()
                .httpClient(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofSeconds(60))
                        .build())
                .region(Region.of(config.region()))
                .credentialsProvider(credentials(config))
                .forcePathStyle(config.pathStyle());
        if (config.endpoint() != null) {
            // S3-compatible servers vary in support for the SDK's newer default checksums
            // (CRC32 trailers on every upload); checksum only where the S3 API requires it.
            builder.endpointOverride(config.endpoint())
                    .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        }
        return new ObjectStore(builder.build(), config.bucket());
    }

    private static AwsCredentialsProvider credentials(ObjectStoreConfig config) {
        if (config.accessKey() != null) {
            return StaticCredentialsProvider.create(AwsBasicCredentials.create(config.accessKey(), config.secretKey()));
        }
        return DefaultCredentialsProvider.builder().build();
    }

    public String bucket() {
        return bucket;
    }

    /** Creates the bucket unless it exists already (ours or, on AWS, someone's we may use). */
    public void createBucketIfMissing() {
        if (bucketExists()) {
            return;
        }
        try {
            s3.createBucket(b -> b.bucket(bucket));
        } catch (S3Exception e) {
            // Another process may have created it in between.
            if (e.statusCode() != 409) {
                throw e;
            }
        }
    }

    public boolean bucketExists() {
        try {
            s3.headBucket(b -> b.bucket(bucket));
            return true;
        } catch (NoSuchBucketException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw e;
        }
    }

    /** Writes (or overwrites) {@code key} with exactly these bytes. */
    public void put(String key, byte[] bytes, String contentType) {
        s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromBytes(bytes));
    }

    /** Writes (or overwrites) {@code key} with the file's bytes, streamed from disk (for objects too large for memory). */
    public void put(String key, java.nio.file.Path file, String contentType) {
        s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromFile(file));
    }

    /** @throws ObjectNotFoundException if there is no such key */
    public byte[] get(String key) {
        return find(key).orElseThrow(() -> new ObjectNotFoundException(bucket, key));
    }

    /** The object's bytes, or empty if there is no such key. */
    public Optional<byte[]> find(String key) {
        try {
            ResponseBytes<GetObjectResponse> bytes = s3.getObjectAsBytes(b -> b.bucket(bucket).key(key));
            return Optional.of(bytes.asByteArray());
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        }
    }

    /**
     * The object's bytes as a stream from the server (the caller closes it), or empty if there is no
     * such key: for passing large objects on without holding them in memory.
     */
    public Optional<InputStream> stream(String key) {
        try {
            return Optional.of(s3.getObject(b -> b.bucket(bucket).key(key)));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        }
    }

    public boolean exists(String key) {
        try {
            s3.headObject(b -> b.bucket(bucket).key(key));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) { // HEAD has no body, so some servers give no error code
                return false;
            }
            throw e;
        }
    }

    /** Every key that starts with {@code prefix}, in the server's (lexicographic) order, all pages. */
    public List<String> list(String prefix) {
        ListObjectsV2Request request = ListObjectsV2Request.builder().bucket(bucket).prefix(prefix).build();
        return s3.listObjectsV2Paginator(request).contents().stream().map(S3Object::key).toList();
    }

    /** Deletes {@code key}; deleting a missing key is not an error. */
    public void delete(String key) {
        s3.deleteObject(b -> b.bucket(bucket).key(key));
    }

    @Override
    public void close() {
        s3.close();
    }
}
