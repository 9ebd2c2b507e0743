package io.latentfarm.client.kafka;

import io.latentfarm.client.storage.ObjectStoreConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.context.env.EnvironmentPropertySource;
import io.micronaut.context.env.MapPropertySource;
import io.micronaut.context.env.PropertySource;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** latentfarm.kafka and latentfarm.s3 bound by Micronaut, and the pass-through reaching every client's settings. */
class KafkaConfigTest {
    private static final Map<String, Object> KAFKA = Map.of(
            "latentfarm.kafka.bootstrap", "kafka-1:9092",
            "latentfarm.kafka.topic-prefix", "t.",
            "latentfarm.kafka.max-input-bytes", 4096,
            "latentfarm.kafka.max-record-bytes", 8192,
            "latentfarm.kafka.dead-letter-excerpt-bytes", 64);

    @Test
    void passThroughFromYamlStyleKeysReachesEveryClient() {
        Map<String, Object> props = new java.util.HashMap<>(KAFKA);
        props.put("latentfarm.kafka.properties.security.protocol", "SASL_SSL");
        props.put("latentfarm.kafka.properties.sasl.mechanism", "PLAIN");
        // a pass-through must not undo what a client needs for correctness
        props.put("latentfarm.kafka.properties.isolation.level", "read_uncommitted");
        try (ApplicationContext ctx = ApplicationContext.builder().properties(props).start()) {
            KafkaConfig config = ctx.getBean(KafkaConfig.class);
            assertEquals("t.", config.topics().prefix());
            assertEquals(8192, config.recordLimits().maxRecordBytes());
            KafkaClientProperties kafka = config.clientProperties();
            for (Map<String, Object> client : new Map[]{kafka.admin(), kafka.producer("p"), kafka.transactionalProducer("tx"),
                    kafka.consumer("c"), kafka.groupConsumer("g", "c")}) {
                assertEquals("SASL_SSL", client.get("security.protocol"), client.toString());
                assertEquals("PLAIN", client.get("sasl.mechanism"), client.toString());
                assertEquals("kafka-1:9092", client.get("bootstrap.servers"), client.toString());
            }
            assertEquals("read_committed", kafka.consumer("c").get("isolation.level"));
            assertEquals("read_committed", kafka.groupConsumer("g", "c").get("isolation.level"));
            assertEquals("tx", kafka.transactionalProducer("tx").get("transactional.id"));
            assertFalse(kafka.consumer("c").containsKey("group.id"));
        }
    }

    /** Where Micronaut puts application yml files: below the environment. */
    private static final int YML_ORDER = EnvironmentPropertySource.POSITION - 100;

    @Test
    void passThroughFromEnvironmentVariablesKeepsKafkaNames() {
        // as the process environment is read: over the application's yml
        PropertySource env = new MapPropertySource("test-env", Map.of(
                "LATENTFARM_KAFKA_BOOTSTRAP", "kafka-2:9093",
                "LATENTFARM_KAFKA_PROPERTIES_SECURITY_PROTOCOL", "SSL",
                "LATENTFARM_KAFKA_PROPERTIES_SSL_TRUSTSTORE_LOCATION", "/etc/kafka/truststore.p12")) {
            @Override
            public int getOrder() {
                return EnvironmentPropertySource.POSITION;
            }

            @Override
            public PropertyConvention getConvention() {
                return PropertyConvention.ENVIRONMENT_VARIABLE;
            }
        };
        try (ApplicationContext ctx = ApplicationContext.builder()
                .propertySources(PropertySource.of("yml-defaults", KAFKA, YML_ORDER), env).start()) {
            KafkaConfig config = ctx.getBean(KafkaConfig.class);
            assertEquals("kafka-2:9093", config.bootstrap());
            assertEquals(Map.of("security.protocol", "SSL", "ssl.truststore.location", "/etc/kafka/truststore.p12"),
                    config.properties());
            assertEquals("SSL", config.clientProperties().producer("p").get("security.protocol"));
        }
    }

    @Test
    void objectStoreConfigBindsWithEmptyMeaningNone() {
        try (ApplicationContext ctx = ApplicationContext.builder().properties(Map.of(
                "latentfarm.s3.endpoint", "",
                "latentfarm.s3.region", "eu-west-1",
                "latentfarm.s3.bucket", "b",
                "latentfarm.s3.access-key", "",
                "latentfarm.s3.path-style", false,
                "latentfarm.s3.key-prefix", "team-a/")).start()) {
            ObjectStoreConfig s3 = ctx.getBean(ObjectStoreConfig.class);
            assertNull(s3.endpoint());
            assertNull(s3.accessKey());
            assertEquals("eu-west-1", s3.region());
            assertEquals("team-a/", s3.keyPrefix());
        }
        try (ApplicationContext ctx = ApplicationContext.builder().properties(Map.of(
                "latentfarm.s3.endpoint", "http://127.0.0.1:9000",
                "latentfarm.s3.region", "us-east-1",
                "latentfarm.s3.bucket", "b",
                "latentfarm.s3.path-style", true)).start()) {
            assertEquals(URI.create("http://127.0.0.1:9000"), ctx.getBean(ObjectStoreConfig.class).endpoint());
        }
    }

    @Test
    void passThroughFromAProcessEnvironmentAsTheCliReadsIt() {
        assertEquals(Map.of("security.protocol", "SASL_SSL", "sasl.jaas.config", "x required;"),
                KafkaClientProperties.passThroughFromEnvironment(Map.of(
                        "LATENTFARM_KAFKA_PROPERTIES_SECURITY_PROTOCOL", "SASL_SSL",
                        "LATENTFARM_KAFKA_PROPERTIES_SASL_JAAS_CONFIG", "x required;",
                        "LATENTFARM_KAFKA_BOOTSTRAP", "k:9092",
                        "PATH", "/bin")));
    }

    @Test
    void noBootstrapIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new KafkaClientProperties(" ", Map.of()));
        assertEquals(true, e.getMessage().contains("LATENTFARM_KAFKA_BOOTSTRAP"), e.getMessage());
    }
}
