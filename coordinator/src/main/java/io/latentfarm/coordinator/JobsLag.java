package io.latentfarm.coordinator;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The workers' backlog: jobs on the jobs topic their consumer group has not committed yet (end
 * offset minus committed offset, summed over partitions; a partition the group never committed
 * counts from its first offset). Measured in the background every {@code every}, so a metrics
 * scrape never waits on Kafka.
 */
final class JobsLag implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JobsLag.class);

    private final Admin admin;
    private final String topic;
    private final String group;
    private final ScheduledExecutorService timer;
    private volatile double lag = Double.NaN;

    JobsLag(CoordinatorSettings settings, String workersGroup, Duration every) {
        this.admin = Admin.create(settings.clientProperties().admin());
        this.topic = settings.topics().jobs();
        this.group = workersGroup;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "latentfarm-jobs-lag");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::measure, 0, every.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The last measurement; NaN before the first one or when the last one failed. */
    double lag() {
        return lag;
    }

    private void measure() {
        try {
            List<TopicPartition> partitions = admin.describeTopics(List.of(topic)).allTopicNames()
                    .get(10, TimeUnit.SECONDS).get(topic).partitions().stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> end = offsets(partitions, OffsetSpec.latest());
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> start = offsets(partitions, OffsetSpec.earliest());
            long total = 0;
            for (TopicPartition tp : partitions) {
                OffsetAndMetadata at = committed.get(tp);
                long from = at != null ? at.offset() : start.get(tp).offset();
                total += Math.max(0, end.get(tp).offset() - from);
            }
            lag = total;
        } catch (Exception e) {
            lag = Double.NaN;
            LOG.debug("jobs lag not measured: {}", e.toString());
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> offsets(List<TopicPartition> partitions,
                                                                                 OffsetSpec spec) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        partitions.forEach(tp -> request.put(tp, spec));
        return admin.listOffsets(request).all().get(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        admin.close(Duration.ofSeconds(2));
    }
}
