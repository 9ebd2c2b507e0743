package io.latentfarm.client.kafka;

import io.latentfarm.common.Topics;
import io.latentfarm.common.message.RecordLimits;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.convert.format.MapFormat;

import java.util.HashMap;
import java.util.Map;

/**
 * {@code latentfarm.kafka.*}, the same for both services; defaults in {@code application-coordinator.yml}
 * and {@code application-worker.yml}, meanings in {@code docs/configuration.md}.
 *
 * @param bootstrap              the bootstrap servers
 * @param topicPrefix            prefix of every topic name
 * @param maxInputBytes          the largest request, result or job value taken
 * @param maxRecordBytes         the largest record a service writes
 * @param deadLetterExcerptBytes how much of an oversized value a dead letter keeps
 * @param properties             Kafka client settings by their Kafka names, passed to every client
 *                               ({@code latentfarm.kafka.properties.security.protocol: SASL_SSL}, or
 *                               {@code LATENTFARM_KAFKA_PROPERTIES_SECURITY_PROTOCOL=SASL_SSL})
 */
@ConfigurationProperties("latentfarm.kafka")
public record KafkaConfig(String bootstrap, String topicPrefix, int maxInputBytes, int maxRecordBytes,
                          int deadLetterExcerptBytes,
                          @Nullable @MapFormat(transformation = MapFormat.MapTransformation.FLAT)
                          Map<String, String> properties) {

    public KafkaConfig {
        topicPrefix = topicPrefix == null ? "" : topicPrefix;
        properties = kafkaNames(properties);
    }

    public Topics topics() {
        return new Topics(topicPrefix);
    }

    public RecordLimits recordLimits() {
        return new RecordLimits(maxInputBytes, maxRecordBytes, deadLetterExcerptBytes);
    }

    public KafkaClientProperties clientProperties() {
        return new KafkaClientProperties(bootstrap, properties);
    }

    /**
     * Kafka's setting names are lower case words joined by dots. An environment variable
     * ({@code LATENTFARM_KAFKA_PROPERTIES_SASL_JAAS_CONFIG}) reaches the map under every spelling
     * Micronaut derives from it ({@code sasl.jaas.config}, {@code sasl-jaas.config}, ...); only the
     * dotted one is a Kafka name, so the others are dropped.
     */
    private static Map<String, String> kafkaNames(Map<String, String> properties) {
        Map<String, String> out = new HashMap<>();
        if (properties != null) {
            properties.forEach((k, v) -> {
                if (!k.contains("-") && v != null) {
                    out.put(k, v);
                }
            });
        }
        return Map.copyOf(out);
    }
}
