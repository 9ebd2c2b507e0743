package io.latentfarm.embedded;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One broker for the whole class: starting one is the slow part. */
class EmbeddedKafkaTest {
    @TempDir
    static Path dir;
    static EmbeddedKafka kafka;

    @BeforeAll
    static void start() {
        long t0 = System.nanoTime();
        kafka = EmbeddedKafka.start(dir.resolve("kafka"));
        System.out.printf("embedded Kafka ready in %d ms on %s%n", (System.nanoTime() - t0) / 1_000_000,
                kafka.bootstrapServers());
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            long t0 = System.nanoTime();
            kafka.close();
            System.out.printf("embedded Kafka stopped in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        }
    }

    @Test
    void listensOnLoopbackAndKeepsDataInTheGivenFolder() {
        assertTrue(kafka.bootstrapServers().startsWith("127.0.0.1:"), kafka.bootstrapServers());
        assertTrue(Files.exists(dir.resolve("kafka").resolve("meta.properties")));
    }

    @Test
    void aSecondBrokerOnTheSameFolderFailsClearly() throws Exception {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> EmbeddedKafka.start(dir.resolve("kafka")));
        assertTrue(e.getMessage().contains("lock"), e.getMessage());
        KafkaChecks.produceAndConsume(kafka.bootstrapServers()); // the first one is unharmed
    }

    @Test
    void produceAndConsume() throws Exception {
        KafkaChecks.produceAndConsume(kafka.bootstrapServers());
    }

    @Test
    void transactionalProducersAndReadCommittedConsumers() throws Exception {
        KafkaChecks.transactions(kafka.bootstrapServers());
    }
}
