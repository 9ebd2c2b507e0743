package io.latentfarm.coordinator;

import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.MessageDecodeException;
import io.latentfarm.client.kafka.TopicReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
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
        Map<String, BatchSummary> out = new HashMap<>();
        TopicReader.readFromBeginning(settings.clientProperties().consumer(settings.transactionalId() + "-state"),
                topic, partitions, TIMEOUT, r -> {
                    if (r.value() == null) {
                        out.remove(r.key());
                        return;
                    }
                    try {
                        BatchSummary state = Json.fromBytes(r.value(), BatchSummary.class);
                        out.put(state.batchId(), state);
                    } catch (MessageDecodeException | IllegalArgumentException e) {
                        LOG.warn("state {}-{}@{} unreadable, skipped: {}", r.topic(), r.partition(), r.offset(),
                                e.getMessage());
                    }
                });
        return out;
    }
}
