package io.latentfarm.coordinator;

import io.latentfarm.common.message.RecordLimits;
import io.latentfarm.common.storage.ObjectStore;
import io.latentfarm.common.validation.Limits;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Named;
import jakarta.inject.Singleton;

import java.time.Duration;

/** Builds the plain coordinator classes from configuration; nothing here but wiring. */
@Factory
@Requires(env = CoordinatorApplication.ROLE)
class CoordinatorBeans {

    @Singleton
    @Bean(preDestroy = "close")
    @Named("coordinator")
    ObjectStore coordinatorObjectStore(
            @Nullable @Value("${latentfarm.s3.endpoint:}") String endpoint,
            @Value("${latentfarm.s3.region:us-east-1}") String region,
            @Value("${latentfarm.s3.bucket:latentfarm}") String bucket,
            @Nullable @Value("${latentfarm.s3.access-key:}") String accessKey,
            @Nullable @Value("${latentfarm.s3.secret-key:}") String secretKey,
            @Value("${latentfarm.s3.path-style:true}") boolean pathStyle,
            @Value("${latentfarm.s3.create-bucket:true}") boolean createBucket) {
        ObjectStore store = ObjectStore.open(ServiceConfig.objectStore(endpoint, region, bucket, accessKey, secretKey,
                pathStyle));
        if (createBucket) {
            store.createBucketIfMissing();
        }
        return store;
    }

    @Context
    @Bean(preDestroy = "close")
    Coordinator coordinator(
            @Named("coordinator") ObjectStore store,
            @Value("${latentfarm.kafka.bootstrap}") String bootstrap,
            @Nullable @Value("${latentfarm.kafka.topic-prefix:latentfarm.}") String topicPrefix,
            @Nullable @Value("${latentfarm.s3.key-prefix:}") String keyPrefix,
            @Nullable @Value("${latentfarm.coordinator.group-id:}") String groupId,
            @Nullable @Value("${latentfarm.coordinator.transactional-id:}") String transactionalId,
            @Value("${latentfarm.coordinator.partitions:3}") int partitions,
            @Value("${latentfarm.coordinator.job-partitions:12}") int jobPartitions,
            @Value("${latentfarm.coordinator.create-topics:true}") boolean createTopics,
            @Value("${latentfarm.coordinator.max-attempts:3}") int maxAttempts,
            @Value("${latentfarm.coordinator.reissue-after:30m}") Duration reissueAfter,
            @Value("${latentfarm.coordinator.max-images:1000000}") int maxImages,
            @Value("${latentfarm.coordinator.window:64}") int window,
            @Value("${latentfarm.coordinator.max-grid-images:64}") int maxGridImages,
            @Value("${latentfarm.coordinator.max-size:1024}") int maxSize,
            @Value("${latentfarm.coordinator.max-steps:150}") int maxSteps,
            @Value("${latentfarm.kafka.max-input-bytes:262144}") int maxInputBytes,
            @Value("${latentfarm.kafka.max-record-bytes:524288}") int maxRecordBytes,
            @Value("${latentfarm.kafka.dead-letter-excerpt-bytes:1024}") int excerptBytes) {
        Limits limits = Limits.DEFAULTS.withMaxImages(maxImages).withMaxSize(maxSize, maxSize).withMaxSteps(maxSteps);
        CoordinatorSettings settings = new CoordinatorSettings(bootstrap, ServiceConfig.topics(topicPrefix),
                ServiceConfig.keys(keyPrefix), groupId, transactionalId, partitions, jobPartitions, createTopics,
                maxAttempts, reissueAfter, limits, null, new RecordLimits(maxInputBytes, maxRecordBytes, excerptBytes),
                window, maxGridImages, CoordinatorSettings.DEFAULT_MAX_LISTED_IMAGES);
        return new Coordinator(settings, store).start();
    }

    /** The coordinator's metrics; the jobs lag is measured for the workers' consumer group. */
    @Context
    @Bean(preDestroy = "close")
    JobsLag coordinatorMetrics(Coordinator coordinator, MeterRegistry registry,
                               @Value("${latentfarm.worker.group-id:latentfarm-workers}") String workersGroup) {
        JobsLag lag = new JobsLag(coordinator.settings(), workersGroup.isBlank() ? "latentfarm-workers" : workersGroup,
                Duration.ofSeconds(10));
        CoordinatorMetrics.register(registry, coordinator, lag);
        return lag;
    }

    /** Sends what the web page submits and cancels to the requests topic, as any client does. */
    @Singleton
    @Bean(preDestroy = "close")
    BatchClient webBatchClient(Coordinator coordinator) {
        CoordinatorSettings s = coordinator.settings();
        return new BatchClient(s.bootstrap(), s.topics(), s.kafka());
    }

    @Context
    @Bean(preDestroy = "close")
    EventFeed eventFeed(Coordinator coordinator) {
        return new EventFeed(coordinator.settings()).start();
    }
}
