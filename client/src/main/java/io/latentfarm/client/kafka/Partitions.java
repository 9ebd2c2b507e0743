package io.latentfarm.client.kafka;

import org.apache.kafka.common.utils.Utils;

import java.nio.charset.StandardCharsets;

/** Kafka's default partitioner for a string key: the partition a keyed record lands on. */
public final class Partitions {
    private Partitions() {
    }

    public static int of(String key, int partitions) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
    }
}
