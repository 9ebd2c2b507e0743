package io.latentfarm.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The CLI's Kafka client settings: --kafka-property reaches every client the commands make. */
class KafkaOptionsTest {
    static final class Holder {
        @CommandLine.Mixin
        KafkaOptions kafka;
    }

    @Test
    void kafkaPropertiesReachTheClients() {
        Holder h = new Holder();
        new CommandLine(h).parseArgs("--bootstrap", "kafka-1:9093", "--kafka-property", "security.protocol=SASL_SSL",
                "--kafka-property", "sasl.mechanism=PLAIN");
        var kafka = h.kafka.clientProperties();
        for (Map<String, Object> client : java.util.List.of(kafka.producer(null), kafka.consumer(null), kafka.admin())) {
            assertEquals("SASL_SSL", client.get("security.protocol"), client.toString());
            assertEquals("PLAIN", client.get("sasl.mechanism"), client.toString());
            assertEquals("kafka-1:9093", client.get("bootstrap.servers"), client.toString());
        }
    }
}
