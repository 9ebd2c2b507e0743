package io.latentfarm.coordinator;

import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.embedded.EmbeddedKafka;
import io.latentfarm.embedded.EmbeddedS3;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** One embedded broker and S3 server for all tests of this JVM (each test uses its own topic prefix). */
final class Infra {
    static final EmbeddedKafka KAFKA;
    static final EmbeddedS3 S3;
    static final ObjectStore STORE;

    static {
        try {
            Path dir = Files.createTempDirectory("latentfarm-coordinator-test");
            KAFKA = EmbeddedKafka.start(dir.resolve("kafka"));
            S3 = EmbeddedS3.start(dir.resolve("s3"));
            STORE = ObjectStore.open(S3.objectStoreConfig());
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                STORE.close();
                S3.close();
                KAFKA.close();
            }));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Infra() {
    }
}
