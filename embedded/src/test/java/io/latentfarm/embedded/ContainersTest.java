package io.latentfarm.embedded;

import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.storage.ObjectStoreConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Testcontainers;

import java.net.URI;

/**
 * The same checks against the broker and S3 server running in containers of the project's own CLI
 * image ({@link LocalImageServices}); skipped (not failed) where no Docker engine answers or the image
 * is not built.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainersTest {
    private static LocalImageServices.Running services;

    @BeforeAll
    static void start() {
        services = LocalImageServices.start();
    }

    @AfterAll
    static void stop() {
        if (services != null) {
            services.close();
        }
    }

    @Test
    void produceAndConsume() throws Exception {
        KafkaChecks.produceAndConsume(services.bootstrap());
    }

    @Test
    void transactionalProducersAndReadCommittedConsumers() throws Exception {
        KafkaChecks.transactions(services.bootstrap());
    }

    @Test
    void putGetExistsListDeleteByteExact() {
        ObjectStoreConfig config = ObjectStoreConfig.s3Compatible(URI.create(services.endpoint()),
                EmbeddedS3.DEFAULT_BUCKET, EmbeddedS3.DEFAULT_ACCESS_KEY, EmbeddedS3.DEFAULT_SECRET_KEY);
        try (ObjectStore store = ObjectStore.open(config)) {
            ObjectStoreChecks.putGetExistsListDelete(store);
        }
    }
}
