package io.latentfarm.coordinator;

import io.latentfarm.common.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Creates the project's topics when missing and checks the one rule between them: the requests,
 * results, state and batch-images topics have the same number of partitions, because a batch's
 * request, its results, its summary and its image records are keyed by batch id and must meet on
 * the same partition number (the coordinator that owns the partition owns the batch).
 */
public final class TopicSetup {
    private TopicSetup() {
    }

    /**
     * @param partitions    for new requests/results/events/state topics (an existing requests topic's
     *                      count wins: it may have been created by a producer before the coordinator ran)
     * @param jobPartitions for a new jobs topic
     * @param replication   for new topics; 0 or less: the broker's default
     * @return the partition count shared by requests, results and state
     */
    public static int ensure(Admin admin, Topics topics, int partitions, int jobPartitions, short replication) {
        try {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            Map<String, TopicDescription> described = existing.isEmpty() ? Map.of()
                    : admin.describeTopics(existing.stream().filter(topics.all()::contains).toList())
                    .allTopicNames().get(30, TimeUnit.SECONDS);
            int p = Optional.ofNullable(described.get(topics.requests())).map(d -> d.partitions().size())
                    .orElse(partitions);
            List<NewTopic> create = new ArrayList<>();
            addIfMissing(create, described, topics.requests(), p, replication, Map.of());
            addIfMissing(create, described, topics.results(), p, replication, Map.of());
            addIfMissing(create, described, topics.events(), p, replication, Map.of());
            addIfMissing(create, described, topics.batchState(), p, replication,
                    Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
            addIfMissing(create, described, topics.batchImages(), p, replication,
                    Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
            addIfMissing(create, described, topics.jobs(), jobPartitions, replication, Map.of());
            addIfMissing(create, described, topics.jobsDlq(), 1, replication, Map.of());
            addIfMissing(create, described, topics.cancels(), 1, replication,
                    Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
            if (!create.isEmpty()) {
                try {
                    admin.createTopics(create).all().get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
            for (String name : List.of(topics.results(), topics.batchState(), topics.batchImages())) {
                TopicDescription d = described.get(name);
                if (d != null && d.partitions().size() != p) {
                    throw new IllegalStateException("topic " + name + " has " + d.partitions().size()
                            + " partitions but " + topics.requests() + " has " + p
                            + "; requests, results, batch state and batch images must have the same number");
                }
            }
            return p;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("cannot create or check the topics on the Kafka cluster: "
                    + (e.getCause() != null ? e.getCause().getMessage() : e.toString()), e);
        }
    }

    private static void addIfMissing(List<NewTopic> create, Map<String, TopicDescription> described, String name,
                                     int partitions, short replication, Map<String, String> configs) {
        if (!described.containsKey(name)) {
            create.add(new NewTopic(name, Optional.of(partitions), replication > 0 ? Optional.of(replication) : Optional.empty()).configs(configs));
        }
    }
}
