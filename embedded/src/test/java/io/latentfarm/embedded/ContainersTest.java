package io.latentfarm.embedded;

import io.latentfarm.common.storage.ObjectStore;
import io.latentfarm.common.storage.ObjectStoreConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.junit.jupiter.Testcontainers;

import java.net.URI;

/**
 * The same checks against the broker and S3 server running in containers of the project's own CLI
 * image ({@link LocalImageServices}); skipped (not failed) where no Docker engine answers or the image
 * is not built.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainersTest {
    private static GenericContainer<?> broker;
    private static GenericContainer<?> s3;

    @BeforeAll
    static void start() {
        LocalImageServices.assumeImagePresent();
        broker = LocalImageServices.broker();
        s3 = LocalImageServices.s3();
        broker.start();
        s3.start();
    }

    @AfterAll
    static void stop() {
        for (GenericContainer<?> c : new GenericContainer<?>[] {s3, broker}) {
            if (c != null) {
                c.stop();
            }
        }
    }

    @Test
    void produceAndConsume() throws Exception {
        KafkaChecks.produceAndConsume(LocalImageServices.bootstrap(broker));
    }

    @Test
    void transactionalProducersAndReadCommittedConsumers() throws Exception {
        KafkaChecks.transactions(LocalImageServices.bootstrap(broker));
    }

    @Test
    void putGetExistsListDeleteByteExact() {
        ObjectStoreConfig config = ObjectStoreConfig.s3Compatible(URI.create(LocalImageServices.endpoint(s3)),
                EmbeddedS3.DEFAULT_BUCKET, EmbeddedS3.DEFAULT_ACCESS_KEY, EmbeddedS3.DEFAULT_SECRET_KEY);
        try (ObjectStore store = ObjectStore.open(config)) {
            ObjectStoreChecks.putGetExistsListDelete(store);
        }
    }
}
