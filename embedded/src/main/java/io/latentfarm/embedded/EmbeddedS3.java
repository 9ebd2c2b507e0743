package io.latentfarm.embedded;


import io.latentfarm.client.storage.ObjectStoreConfig;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A real S3-compatible server (S3Proxy with its filesystem store) in this JVM, on
 * {@code http://127.0.0.1:<free port>}, keeping objects as files under a folder of the caller's
 * ({@code <folder>/buckets/<bucket>/<key>}). Signs requests with fixed keys (AWS signature v2 or v4) and
 * creates its bucket if absent. Stock clients (AWS CLI, s3cmd) work against it with path-style
 * addressing. {@link #close()} stops the server and deletes nothing.
 */
public final class EmbeddedS3 implements AutoCloseable {
    public static final String DEFAULT_BUCKET = "latentfarm";
    public static final String DEFAULT_ACCESS_KEY = "latentfarm";
    public static final String DEFAULT_SECRET_KEY = "latentfarm-secret";
    private static final String BUCKETS = "buckets";

    private final S3Proxy proxy;
    private final BlobStore store;
    private final FolderLock lock;
    private final URI endpoint;
    private final String bucket;
    private final String accessKey;
    private final String secretKey;
    private final Path dataDir;
    private boolean closed;

    private EmbeddedS3(S3Proxy proxy, BlobStore store, FolderLock lock, URI endpoint, String bucket,
                       String accessKey, String secretKey, Path dataDir) {
        this.proxy = proxy;
        this.store = store;
        this.lock = lock;
        this.endpoint = endpoint;
        this.bucket = bucket;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        this.dataDir = dataDir;
    }

    /** Starts a server with bucket {@value #DEFAULT_BUCKET} and the default keys. */
    public static EmbeddedS3 start(Path dataDir) {
        return start(dataDir, DEFAULT_BUCKET, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY);
    }

    public static EmbeddedS3 start(Path dataDir, String bucket, String accessKey, String secretKey) {
        return start(dataDir, 0, bucket, accessKey, secretKey);
    }

    /**
     * Starts a server on {@code http://127.0.0.1:port} ({@code 0}: a free port), so a restarted server
     * keeps its address ({@code latentfarm s3 --port}).
     */
    public static EmbeddedS3 start(Path dataDir, int port, String bucket, String accessKey, String secretKey) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " is not in 0..65535");
        }
        Objects.requireNonNull(bucket, "bucket");
        Objects.requireNonNull(accessKey, "accessKey");
        Objects.requireNonNull(secretKey, "secretKey");
        QuietLogging.forS3Proxy();
        Path dir = dataDir.toAbsolutePath();
        // Every folder in the store's root is a bucket, so the lock file stays one level up.
        Path root = dir.resolve(BUCKETS);
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create S3 data folder " + root, e);
        }
        FolderLock lock = FolderLock.acquire(dir, "S3");
        BlobStore store = new FilesystemNio2BlobStore(root.toString());
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(store)
                .endpoint(URI.create("http://127.0.0.1:" + port)) // port 0: Jetty binds a free port, no race
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
                .build();
        try {
            proxy.start();
            if (!store.containerExists(bucket)) {
                store.createContainer(bucket);
            }
        } catch (Exception e) {
            stopQuietly(proxy, store);
            lock.close();
            throw new IllegalStateException("S3Proxy did not start: " + e.getMessage(), e);
        }
        URI endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
        return new EmbeddedS3(proxy, store, lock, endpoint, bucket, accessKey, secretKey, dir);
    }

    /** {@code http://127.0.0.1:<port>} */
    public URI endpoint() {
        return endpoint;
    }

    public String bucket() {
        return bucket;
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** Where an object is kept as a file: {@code <folder>/buckets/<bucket>/<key>}. */
    public Path fileOf(String key) {
        return dataDir.resolve(BUCKETS).resolve(bucket).resolve(key);
    }

    /** How an {@code ObjectStore} reaches this server: path-style, region us-east-1, these keys. */
    public ObjectStoreConfig objectStoreConfig() {
        return ObjectStoreConfig.s3Compatible(endpoint, bucket, accessKey, secretKey);
    }

    /** Stops the server; the objects stay in the data folder. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopQuietly(proxy, store);
        lock.close();
    }

    private static void stopQuietly(S3Proxy proxy, BlobStore store) {
        try {
            proxy.stop();
        } catch (Exception e) {
            // stopping a server that did not start
        }
        store.close();
    }
}
