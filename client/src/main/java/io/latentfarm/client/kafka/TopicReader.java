package io.latentfarm.client.kafka;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads partitions of a topic to their end: the end offsets taken when reading starts (with
 * {@code read_committed}, the last stable offsets, so aborted writes never count). The one way
 * latentfarm reads a topic whole: the coordinator's state, the workers' cancelled batches, a
 * batch's events for {@code status}, and tests checking what a run wrote.
 */
public final class TopicReader {
    private static final Duration POLL = Duration.ofMillis(200);

    private TopicReader() {
    }

    /**
     * Reads on from the consumer's current positions until each partition in {@code partitions}
     * (assigned to it) reaches the end offset it has now.
     *
     * @param each    gets every record on the way, in order per partition
     * @param timeout the most time spent reading
     * @return true when every partition reached its end; false when {@code timeout} ran out first
     */
    public static <K, V> boolean readToEnd(Consumer<K, V> consumer, Collection<TopicPartition> partitions,
                                           Duration timeout, java.util.function.Consumer<ConsumerRecord<K, V>> each) {
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            consumer.poll(POLL).forEach(each);
        }
        return true;
    }

    /**
     * Every record of {@code partitions} of {@code topic} (null: all of them) from the beginning to
     * their end, through a consumer of its own. A topic that does not exist has no records.
     *
     * @param consumerConfig a consumer's settings, normally {@link KafkaClientProperties#consumer}
     * @throws IllegalStateException when reading took longer than {@code timeout}
     */
    public static void readFromBeginning(Map<String, Object> consumerConfig, String topic, Set<Integer> partitions,
                                         Duration timeout,
                                         java.util.function.Consumer<ConsumerRecord<String, byte[]>> each) {
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(consumerConfig,
                new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = partitions != null
                    ? partitions.stream().map(p -> new TopicPartition(topic, p)).toList()
                    : allPartitions(consumer, topic, timeout);
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            if (!readToEnd(consumer, tps, timeout, each)) {
                throw new IllegalStateException("reading " + topic + " " + (partitions == null ? "" : partitions + " ")
                        + "took longer than " + timeout);
            }
        }
    }

    /** {@link #readFromBeginning} into a list. */
    public static List<ConsumerRecord<String, byte[]>> readAll(Map<String, Object> consumerConfig, String topic,
                                                               Duration timeout) {
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        readFromBeginning(consumerConfig, topic, null, timeout, out::add);
        return out;
    }

    /** The partitions of {@code topic}; none when there is no such topic. */
    public static List<TopicPartition> allPartitions(Consumer<?, ?> consumer, String topic, Duration timeout) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos == null) {
            return List.of();
        }
        return infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
    }
}
