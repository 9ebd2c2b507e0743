package io.latentfarm.embedded;

import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.storage.ObjectStoreConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EmbeddedS3Test {
    @TempDir
    static Path dir;
    static EmbeddedS3 s3;
    static ObjectStore store;

    @BeforeAll
    static void start() {
        long t0 = System.nanoTime();
        s3 = EmbeddedS3.start(dir.resolve("s3"));
        System.out.printf("embedded S3 ready in %d ms on %s%n", (System.nanoTime() - t0) / 1_000_000, s3.endpoint());
        store = ObjectStore.open(s3.objectStoreConfig());
    }

    @AfterAll
    static void stop() {
        if (store != null) {
            store.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    @Test
    void servesOnLoopbackWithItsBucketCreated() {
        assertTrue(s3.endpoint().toString().startsWith("http://127.0.0.1:"), s3.endpoint().toString());
        assertEquals("latentfarm", s3.bucket());
        assertTrue(store.bucketExists());
    }

    @Test
    void theOnlyBucketIsOurs() {
        var config = s3.objectStoreConfig();
        try (var client = software.amazon.awssdk.services.s3.S3Client.builder()
                .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create())
                .endpointOverride(config.endpoint()).forcePathStyle(true)
                .region(software.amazon.awssdk.regions.Region.US_EAST_1)
                .credentialsProvider(() -> software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(
                        config.accessKey(), config.secretKey()))
                .build()) {
            assertEquals(java.util.List.of("latentfarm"),
                    client.listBuckets().buckets().stream().map(b -> b.name()).toList());
        }
    }

    @Test
    void aSecondServerOnTheSameFolderFailsClearly() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> EmbeddedS3.start(dir.resolve("s3")));
        assertTrue(e.getMessage().contains("in use"), e.getMessage());
        assertTrue(store.bucketExists());
    }

    @Test
    void putGetExistsListDeleteByteExact() {
        ObjectStoreChecks.putGetExistsListDelete(store);
    }

    @Test
    void listingPagesPastAThousandKeys() throws Exception {
        // Written as files straight into the filesystem store: 1001 PUTs would take seconds.
        Path folder = s3.fileOf("many");
        Files.createDirectories(folder);
        for (int i = 0; i < 1001; i++) {
            Files.write(folder.resolve(String.format("%05d", i)), new byte[]{(byte) i});
        }
        ObjectStoreChecks.listsAllPages(store, "many/", 1001);
    }

    @Test
    void objectsAreFilesUnderTheDataFolder() {
        byte[] bytes = {1, 2, 3};
        store.put("files/x.bin", bytes, "application/octet-stream");
        assertArrayEquals(bytes, readFile(dir.resolve("s3/buckets/latentfarm/files/x.bin")));
        assertEquals(dir.resolve("s3/buckets/latentfarm/files/x.bin").toAbsolutePath(), s3.fileOf("files/x.bin"));
    }

    @Test
    void wrongKeysAreRefused() {
        var config = s3.objectStoreConfig();
        var wrong = ObjectStoreConfig.s3Compatible(config.endpoint(), config.bucket(), config.accessKey(), "not-the-secret");
        try (ObjectStore intruder = ObjectStore.open(wrong)) {
            S3Exception e = assertThrows(S3Exception.class, () -> intruder.put("k", new byte[]{1}, "text/plain"));
            assertEquals(403, e.statusCode());
        }
    }

    private static byte[] readFile(Path path) {
        try {
            return Files.readAllBytes(path);
        } catch (java.io.IOException e) {
            throw new AssertionError("object not stored as a file at " + path, e);
        }
    }
}
