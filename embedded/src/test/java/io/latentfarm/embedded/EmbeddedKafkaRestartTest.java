package io.latentfarm.embedded;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** `latentfarm local --serve` restarted on the same folder keeps its topics, records and offsets. */
class EmbeddedKafkaRestartTest {
    @TempDir
    Path dir;

    @Test
    void dataSurvivesARestart() throws Exception {
        Path data = dir.resolve("kafka");
        String clusterId;
        long t0 = System.nanoTime();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(data)) {
            System.out.printf("embedded Kafka (first in this JVM) ready in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            clusterId = kafka.clusterId();
            KafkaChecks.createTopics(kafka.bootstrapServers(), "kept");
            try (var producer = KafkaChecks.producer(kafka.bootstrapServers(), null)) {
                producer.send(new ProducerRecord<>("kept", "k", "first")).get();
            }
            try (var consumer = KafkaChecks.consumer(kafka.bootstrapServers(), "g", false)) {
                consumer.subscribe(List.of("kept"));
                assertEquals(List.of("first"), KafkaChecks.pollValues(consumer, 1));
                consumer.commitSync();
            }
        }
        t0 = System.nanoTime();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(data)) {
            System.out.printf("embedded Kafka restarted on existing data in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            assertEquals(clusterId, kafka.clusterId());
            try (var producer = KafkaChecks.producer(kafka.bootstrapServers(), null)) {
                producer.send(new ProducerRecord<>("kept", "k", "second")).get();
            }
            try (var consumer = KafkaChecks.consumer(kafka.bootstrapServers(), "g", false)) {
                consumer.subscribe(List.of("kept"));
                // The group resumes after "first".
                assertEquals(List.of("second"), KafkaChecks.pollValues(consumer, 1));
            }
        }
    }
}
