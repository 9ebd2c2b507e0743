package io.latentfarm.cli;

import io.latentfarm.client.RequestLimitsConfig;
import io.latentfarm.client.kafka.KafkaConfig;
import io.latentfarm.client.storage.ObjectStoreConfig;
import io.latentfarm.common.message.RecordLimits;
import io.latentfarm.common.validation.Limits;
import io.latentfarm.coordinator.CoordinatorConfig;
import io.latentfarm.coordinator.CoordinatorSettings;
import io.latentfarm.worker.service.WorkerConfig;
import io.latentfarm.worker.service.WorkerSettings;
import io.micronaut.context.ApplicationContext;
import io.micronaut.context.env.EnvironmentPropertySource;
import io.micronaut.context.env.MapPropertySource;
import io.micronaut.context.env.PropertySource;
import io.micronaut.context.env.yaml.YamlPropertySourceLoader;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The services' settings as Micronaut binds them from each role's yml file and the environment:
 * the files' defaults, environment overrides, and the Kafka pass-through reaching the clients. The
 * role's beans are not started (no role environment): only the configuration is bound.
 */
class ServiceConfigurationTest {

    @Test
    void coordinatorDefaultsComeFromItsFile() throws Exception {
        try (ApplicationContext ctx = context("application-coordinator.yml", Map.of())) {
            CoordinatorSettings s = CoordinatorSettings.of(ctx.getBean(CoordinatorConfig.class),
                    ctx.getBean(RequestLimitsConfig.class), ctx.getBean(KafkaConfig.class),
                    ctx.getBean(ObjectStoreConfig.class));
            assertEquals("127.0.0.1:9092", s.bootstrap());
            assertEquals("latentfarm.requests", s.topics().requests());
            assertEquals("latentfarm-coordinator", s.groupId());
            assertTrue(s.transactionalId().startsWith("latentfarm-coordinator-"), s.transactionalId());
            assertEquals(3, s.partitions());
            assertEquals(12, s.jobPartitions());
            assertEquals(3, s.maxAttempts());
            assertEquals(Duration.ofMinutes(30), s.reissueAfter());
            assertEquals(Map.of(), s.kafka());
            // the validators' and record limits' constants say what the file says
            assertEquals(Limits.DEFAULTS, s.limits());
            assertEquals(RecordLimits.DEFAULTS, s.recordLimits());
            ObjectStoreConfig s3 = ctx.getBean(ObjectStoreConfig.class);
            assertNull(s3.endpoint());
            assertNull(s3.accessKey());
            assertEquals("latentfarm", s3.bucket());
            assertEquals("batches/b/images/0000.png", s.keys().image("b", 0));
        }
    }

    @Test
    void coordinatorEnvironmentOverridesAndPassesKafkaSettingsOn() throws Exception {
        try (ApplicationContext ctx = context("application-coordinator.yml", Map.of(
                "LATENTFARM_KAFKA_BOOTSTRAP", "kafka-1:9093",
                "LATENTFARM_KAFKA_TOPIC_PREFIX", "team-a.",
                "LATENTFARM_KAFKA_PROPERTIES_SECURITY_PROTOCOL", "SASL_SSL",
                "LATENTFARM_KAFKA_PROPERTIES_SASL_MECHANISM", "SCRAM-SHA-512",
                "LATENTFARM_COORDINATOR_JOB_PARTITIONS", "4",
                "LATENTFARM_COORDINATOR_REISSUE_AFTER", "90s",
                "LATENTFARM_COORDINATOR_MAX_STEPS", "40",
                "LATENTFARM_S3_ENDPOINT", "http://minio:9000",
                "LATENTFARM_S3_KEY_PREFIX", "team-a/"))) {
            CoordinatorSettings s = CoordinatorSettings.of(ctx.getBean(CoordinatorConfig.class),
                    ctx.getBean(RequestLimitsConfig.class), ctx.getBean(KafkaConfig.class),
                    ctx.getBean(ObjectStoreConfig.class));
            assertEquals("kafka-1:9093", s.bootstrap());
            assertEquals("team-a.jobs", s.topics().jobs());
            assertEquals(4, s.jobPartitions());
            assertEquals(Duration.ofSeconds(90), s.reissueAfter());
            assertEquals(40, s.limits().maxSteps());
            assertEquals("team-a/batches/b/images/0000.png", s.keys().image("b", 0));
            assertEquals(URI.create("http://minio:9000"), ctx.getBean(ObjectStoreConfig.class).endpoint());
            var kafka = s.clientProperties();
            for (Map<String, Object> client : java.util.List.of(kafka.admin(), kafka.consumer("c"),
                    kafka.groupConsumer(s.groupId(), "c"), kafka.transactionalProducer(s.transactionalId()))) {
                assertEquals("SASL_SSL", client.get("security.protocol"), client.toString());
                assertEquals("SCRAM-SHA-512", client.get("sasl.mechanism"), client.toString());
                assertEquals("kafka-1:9093", client.get("bootstrap.servers"), client.toString());
            }
        }
    }

    @Test
    void workerDefaultsComeFromItsFileAndTheEnvironmentOverrides() throws Exception {
        try (ApplicationContext ctx = context("application-worker.yml", Map.of())) {
            WorkerConfig w = ctx.getBean(WorkerConfig.class);
            assertNull(w.model());
            assertEquals("auto", w.device());
            WorkerSettings s = WorkerSettings.of(w, ctx.getBean(RequestLimitsConfig.class),
                    ctx.getBean(KafkaConfig.class), ctx.getBean(ObjectStoreConfig.class));
            assertEquals("latentfarm-workers", s.groupId());
            assertEquals(1, s.maxBatch());
            assertEquals(Duration.ofSeconds(1), s.progressInterval());
            assertEquals(Duration.ofSeconds(30), s.shutdownGrace());
            assertEquals(Duration.ofSeconds(2), s.retryBackoff());
            assertEquals(Duration.ofSeconds(10), s.sessionTimeout());
            assertNull(s.groupInstanceId());
            assertEquals(Limits.DEFAULTS, s.limits());
            assertEquals(RecordLimits.DEFAULTS, s.recordLimits());
        }
        try (ApplicationContext ctx = context("application-worker.yml", Map.of(
                "LATENTFARM_WORKER_MODEL", "/models/sd-v1-5",
                "LATENTFARM_WORKER_MAX_BATCH", "4",
                "LATENTFARM_WORKER_WORKER_ID", "gpu-0",
                "LATENTFARM_WORKER_SESSION_TIMEOUT", "30s",
                "LATENTFARM_WORKER_GROUP_INSTANCE_ID", "worker-0",
                "LATENTFARM_KAFKA_PROPERTIES_SECURITY_PROTOCOL", "SSL"))) {
            WorkerConfig w = ctx.getBean(WorkerConfig.class);
            assertEquals("/models/sd-v1-5", w.model());
            WorkerSettings s = WorkerSettings.of(w, ctx.getBean(RequestLimitsConfig.class),
                    ctx.getBean(KafkaConfig.class), ctx.getBean(ObjectStoreConfig.class));
            assertEquals(4, s.maxBatch());
            assertEquals("gpu-0", s.workerId());
            assertEquals(Duration.ofSeconds(30), s.sessionTimeout());
            assertEquals("worker-0", s.groupInstanceId());
            assertEquals("SSL", s.kafka().groupConsumer(s.groupId(), "c").get("security.protocol"));
            assertEquals("SSL", s.kafka().producer("p").get("security.protocol"));
            assertEquals("SSL", s.kafka().consumer("c").get("security.protocol"));
        }
    }

    /** The role's file where Micronaut puts it, and {@code env} as the process environment is read: over it. */
    private static ApplicationContext context(String file, Map<String, Object> env) throws Exception {
        Map<String, Object> yml;
        try (InputStream in = ServiceConfigurationTest.class.getClassLoader().getResourceAsStream(file)) {
            yml = new YamlPropertySourceLoader().read(file, in);
        }
        PropertySource fileSource = PropertySource.of(file, yml, EnvironmentPropertySource.POSITION - 100);
        PropertySource envSource = new MapPropertySource("test-environment", env) {
            @Override
            public int getOrder() {
                return EnvironmentPropertySource.POSITION;
            }

            @Override
            public PropertyConvention getConvention() {
                return PropertyConvention.ENVIRONMENT_VARIABLE;
            }
        };
        // no health monitor: it needs the scheduler of a running server
        return ApplicationContext.builder().properties(Map.of("micronaut.health.monitor.enabled", false))
                .propertySources(fileSource, envSource).start();
    }
}
