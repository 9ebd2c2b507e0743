package io.latentfarm.embedded;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Checks any broker must pass, whether embedded or in a container. */
final class KafkaChecks {
    private KafkaChecks() {
    }

    static void createTopics(String bootstrap, String... topics) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            List<NewTopic> newTopics = new ArrayList<>();
            for (String topic : topics) {
                newTopics.add(new NewTopic(topic, 1, (short) 1));
            }
            admin.createTopics(newTopics).all().get();
        }
    }

    static KafkaProducer<String, String> producer(String bootstrap, String transactionalId) {
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        if (transactionalId != null) {
            config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        }
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }

    static KafkaConsumer<String, String> consumer(String bootstrap, String group, boolean readCommitted) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, readCommitted ? "read_committed" : "read_uncommitted");
        return new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer());
    }

    /** Polls until {@code expected} records arrived (or 30 s passed) and returns the values. */
    static List<String> pollValues(KafkaConsumer<String, String> consumer, int expected) {
        List<String> values = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (values.size() < expected && System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                values.add(r.value());
            }
        }
        return values;
    }

    /** A plain produce, then a consumer group reads it back and commits its offset. */
    static void produceAndConsume(String bootstrap) throws Exception {
        String topic = "plain-" + UUID.randomUUID();
        createTopics(bootstrap, topic);
        try (var producer = producer(bootstrap, null)) {
            producer.send(new ProducerRecord<>(topic, "k", "hello")).get();
        }
        try (var consumer = consumer(bootstrap, "g-" + topic, false)) {
            consumer.subscribe(List.of(topic));
            assertEquals(List.of("hello"), pollValues(consumer, 1));
            consumer.commitSync();
            assertEquals(1L, consumer.committed(java.util.Set.of(new TopicPartition(topic, 0)))
                    .get(new TopicPartition(topic, 0)).offset());
        }
    }

    /**
     * Transactions as Kafka Streams' exactly_once_v2 uses them: a committed transaction is seen by
     * a read_committed consumer, an aborted one is not; and consume-transform-produce with the
     * input offsets committed inside the output transaction.
     */
    static void transactions(String bootstrap) throws Exception {
        String in = "tx-in-" + UUID.randomUUID();
        String out = "tx-out-" + UUID.randomUUID();
        createTopics(bootstrap, in, out);

        try (var producer = producer(bootstrap, "tx-" + in)) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(in, "a", "committed-1"));
            producer.send(new ProducerRecord<>(in, "a", "committed-2"));
            producer.commitTransaction();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(in, "a", "aborted"));
            producer.flush();
            producer.abortTransaction();
        }
        try (var uncommitted = consumer(bootstrap, "peek-" + in, false)) {
            uncommitted.subscribe(List.of(in));
            assertEquals(List.of("committed-1", "committed-2", "aborted"), pollValues(uncommitted, 3));
        }

        String group = "ctp-" + in;
        try (var consumer = consumer(bootstrap, group, true);
             var producer = producer(bootstrap, "tx-" + out)) {
            producer.initTransactions();
            consumer.subscribe(List.of(in));
            List<ConsumerRecord<String, String>> records = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (records.size() < 2 && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            assertEquals(List.of("committed-1", "committed-2"), records.stream().map(ConsumerRecord::value).toList());
            producer.beginTransaction();
            for (var r : records) {
                producer.send(new ProducerRecord<>(out, r.key(), r.value().toUpperCase()));
            }
            var last = records.get(records.size() - 1);
            producer.sendOffsetsToTransaction(
                    Map.of(new TopicPartition(in, 0), new OffsetAndMetadata(last.offset() + 1)),
                    consumer.groupMetadata());
            producer.commitTransaction();
        }
        try (var reader = consumer(bootstrap, "read-" + out, true)) {
            reader.subscribe(List.of(out));
            assertEquals(List.of("COMMITTED-1", "COMMITTED-2"), pollValues(reader, 2));
        }
        try (var consumer = consumer(bootstrap, group, true)) {
            // The group's offset moved with the transaction: past both committed records (and
            // the commit marker that follows them).
            long committed = consumer.committed(java.util.Set.of(new TopicPartition(in, 0)))
                    .get(new TopicPartition(in, 0)).offset();
            assertEquals(2L, committed);
        }
    }
}
