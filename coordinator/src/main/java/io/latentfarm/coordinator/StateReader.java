package io.latentfarm.coordinator;

import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.MessageDecodeException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads partitions of the compacted state topic (one summary per batch, whatever its size) from
 * the beginning to their last committed offset ({@code read_committed}: the end is the last stable
 * offset, so aborted writes never count), the last value of each key winning.
 */
final class StateReader {
    private static final Logger LOG = LoggerFactory.getLogger(StateReader.class);
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private StateReader() {
    }

    static Map<String, BatchSummary> read(CoordinatorSettings settings, String topic, Set<Integer> partitions) {
        Map<String, Object> c = new HashMap<>(settings.kafka());
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.put(ConsumerConfig.CLIENT_ID_CONFIG, settings.transactionalId() + "-state");
        Map<String, BatchSummary> out = new HashMap<>();
        try (KafkaConsumer<String, byte[]> consumer =
                     new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = partitions.stream().map(p -> new TopicPartition(topic, p)).toList();
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (tps.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("reading " + topic + " " + partitions + " took longer than " + TIMEOUT);
                }
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.value() == null) {
                        out.remove(r.key());
                        continue;
                    }
                    try {
                        BatchSummary state = Json.fromBytes(r.value(), BatchSummary.class);
                        out.put(state.batchId(), state);
                    } catch (MessageDecodeException | IllegalArgumentException e) {
                        LOG.warn("state {}-{}@{} unreadable, skipped: {}", r.topic(), r.partition(), r.offset(),
                                e.getMessage());
                    }
                }
            }
        }
        return out;
    }
}
