package io.latentfarm.embedded;

import io.latentfarm.common.storage.ObjectStore;
import io.latentfarm.common.storage.ObjectStoreConfig;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

import java.net.URI;

/**
 * The same checks against Kafka and MinIO in containers, where a Docker engine exists; skipped
 * (not failed) without one. Image names can be overridden with the system properties
 * {@code latentfarm.test.kafkaImage} and {@code latentfarm.test.minioImage}.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainersTest {
    private static final String KAFKA_IMAGE = System.getProperty("latentfarm.test.kafkaImage", "apache/kafka:4.1.2");
    // Docker Hub stopped serving minio/minio; MinIO publishes the same releases on quay.io.
    private static final String MINIO_IMAGE = System.getProperty("latentfarm.test.minioImage",
            "quay.io/minio/minio:RELEASE.2023-09-04T19-57-37Z");

    @Container
    static final KafkaContainer KAFKA = new KafkaContainer(
            DockerImageName.parse(KAFKA_IMAGE).asCompatibleSubstituteFor("apache/kafka"));

    @Container
    static final MinIOContainer MINIO = new MinIOContainer(
            DockerImageName.parse(MINIO_IMAGE).asCompatibleSubstituteFor("minio/minio"));

    @Test
    void produceAndConsume() throws Exception {
        KafkaChecks.produceAndConsume(KAFKA.getBootstrapServers());
    }

    @Test
    void transactionalProducersAndReadCommittedConsumers() throws Exception {
        KafkaChecks.transactions(KAFKA.getBootstrapServers());
    }

    @Test
    void putGetExistsListDeleteByteExact() {
        ObjectStoreConfig config = ObjectStoreConfig.s3Compatible(URI.create(MINIO.getS3URL()), "latentfarm",
                MINIO.getUserName(), MINIO.getPassword());
        try (ObjectStore store = ObjectStore.open(config)) {
            ObjectStoreChecks.putGetExistsListDelete(store);
        }
    }
}
