package io.latentfarm.coordinator;

import io.latentfarm.client.BatchClient;
import io.latentfarm.client.RequestLimitsConfig;
import io.latentfarm.client.kafka.KafkaConfig;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.storage.ObjectStoreConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Property;
import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;

import java.time.Duration;

/**
 * Builds the plain coordinator classes from the bound configuration (defaults in
 * {@code application-coordinator.yml}); nothing here but wiring. The object store is the shared
 * {@link io.latentfarm.client.storage.ObjectStoreFactory}'s.
 */
@Factory
@Requires(env = CoordinatorApplication.ROLE)
class CoordinatorBeans {

    @Singleton
    CoordinatorSettings coordinatorSettings(CoordinatorConfig coordinator, RequestLimitsConfig limits,
                                            KafkaConfig kafka, ObjectStoreConfig s3) {
        return CoordinatorSettings.of(coordinator, limits, kafka, s3);
    }

    @Context
    @Bean(preDestroy = "close")
    Coordinator coordinator(CoordinatorSettings settings, ObjectStore store,
                            @Property(name = "latentfarm.s3.create-bucket") boolean createBucket) {
        if (createBucket) {
            store.createBucketIfMissing();
        }
        return new Coordinator(settings, store).start();
    }

    /** The coordinator's metrics; the jobs lag is measured for the workers' consumer group. */
    @Context
    @Bean(preDestroy = "close")
    JobsLag coordinatorMetrics(Coordinator coordinator, MeterRegistry registry,
                               @Property(name = "latentfarm.worker.group-id") String workersGroup) {
        JobsLag lag = new JobsLag(coordinator.settings(), workersGroup, Duration.ofSeconds(10));
        CoordinatorMetrics.register(registry, coordinator, lag);
        return lag;
    }

    /** Sends what the web page submits and cancels to the requests topic, as any client does. */
    @Singleton
    @Bean(preDestroy = "close")
    BatchClient webBatchClient(Coordinator coordinator) {
        CoordinatorSettings s = coordinator.settings();
        return new BatchClient(s.clientProperties(), s.topics());
    }

    @Context
    @Bean(preDestroy = "close")
    EventFeed eventFeed(Coordinator coordinator) {
        return new EventFeed(coordinator.settings()).start();
    }
}
