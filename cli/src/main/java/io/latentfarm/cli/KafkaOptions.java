package io.latentfarm.cli;

import io.latentfarm.common.Topics;
import picocli.CommandLine.Option;

/** Where the Kafka cluster is; options, or the services' environment variables. */
final class KafkaOptions {
    @Option(names = "--bootstrap", paramLabel = "HOST:PORT", defaultValue = "${env:LATENTFARM_KAFKA_BOOTSTRAP}",
            description = "Kafka bootstrap servers (env LATENTFARM_KAFKA_BOOTSTRAP).")
    String bootstrap;

    @Option(names = "--topic-prefix", paramLabel = "PREFIX", defaultValue = "${env:LATENTFARM_KAFKA_TOPIC_PREFIX:-latentfarm.}",
            description = "Prefix of the topic names (env LATENTFARM_KAFKA_TOPIC_PREFIX, default ${DEFAULT-VALUE}).")
    String topicPrefix;

    String bootstrap() {
        if (bootstrap == null || bootstrap.isBlank()) {
            throw new IllegalArgumentException("--bootstrap HOST:PORT is required (or set LATENTFARM_KAFKA_BOOTSTRAP)");
        }
        return bootstrap;
    }

    Topics topics() {
        return new Topics(topicPrefix == null ? Topics.DEFAULT_PREFIX : topicPrefix);
    }
}
