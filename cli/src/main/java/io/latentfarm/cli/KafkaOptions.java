package io.latentfarm.cli;

import io.latentfarm.client.BatchClient;
import io.latentfarm.client.kafka.KafkaClientProperties;
import io.latentfarm.common.Topics;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;

/** Where the Kafka cluster is and how to sign in; options, or the services' environment variables. */
final class KafkaOptions {
    @Option(names = "--bootstrap", paramLabel = "HOST:PORT", defaultValue = "${env:LATENTFARM_KAFKA_BOOTSTRAP}",
            description = "Kafka bootstrap servers (env LATENTFARM_KAFKA_BOOTSTRAP).")
    String bootstrap;

    @Option(names = "--topic-prefix", paramLabel = "PREFIX", defaultValue = "${env:LATENTFARM_KAFKA_TOPIC_PREFIX:-latentfarm.}",
            description = "Prefix of the topic names (env LATENTFARM_KAFKA_TOPIC_PREFIX, default ${DEFAULT-VALUE}).")
    String topicPrefix;

    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE",
            description = "A Kafka client setting, e.g. security.protocol=SASL_SSL (repeatable; also env"
                    + " LATENTFARM_KAFKA_PROPERTIES_SECURITY_PROTOCOL=SASL_SSL, as the services read it).")
    Map<String, String> properties = new LinkedHashMap<>();

    String bootstrap() {
        if (bootstrap == null || bootstrap.isBlank()) {
            throw new IllegalArgumentException("--bootstrap HOST:PORT is required (or set LATENTFARM_KAFKA_BOOTSTRAP)");
        }
        return bootstrap;
    }

    Topics topics() {
        return new Topics(topicPrefix == null ? Topics.DEFAULT_PREFIX : topicPrefix);
    }

    /** The environment's pass-through settings, then the options' (which win). */
    KafkaClientProperties clientProperties() {
        Map<String, String> passThrough = new LinkedHashMap<>(
                KafkaClientProperties.passThroughFromEnvironment(System.getenv()));
        passThrough.putAll(properties);
        return new KafkaClientProperties(bootstrap(), passThrough);
    }

    BatchClient client() {
        return new BatchClient(clientProperties(), topics());
    }
}
