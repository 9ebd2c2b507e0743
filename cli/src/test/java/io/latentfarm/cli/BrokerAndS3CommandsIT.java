package io.latentfarm.cli;

import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.storage.ObjectStoreConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code latentfarm broker} and {@code latentfarm s3} as child processes through the launcher: they
 * serve on the port given, stop cleanly on SIGTERM, and a restart on the same folder and port still
 * has the topic's records and the bucket's objects.
 */
class BrokerAndS3CommandsIT {
    private static final Duration START = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    @Test
    void stopOnSigtermAndKeepTheirDataAcrossARestart() throws Exception {
        int kafkaPort = freePort();
        int s3Port = freePort();
        String bootstrap = "127.0.0.1:" + kafkaPort;
        Path logs = dir.resolve("logs");
        String[] brokerArgs = {"broker", "--data", dir.resolve("kafka").toString(), "--port", String.valueOf(kafkaPort)};
        String[] s3Args = {"s3", "--data", dir.resolve("s3").toString(), "--port", String.valueOf(s3Port),
                "--access-key", "test-key", "--secret-key", "test-secret"};
        ObjectStoreConfig s3 = ObjectStoreConfig.s3Compatible(URI.create("http://127.0.0.1:" + s3Port), "latentfarm",
                "test-key", "test-secret");

        try (LauncherProcess broker = LauncherProcess.start("broker-1", logs, Map.of(), brokerArgs);
             LauncherProcess server = LauncherProcess.start("s3-1", logs, Map.of(), s3Args)) {
            broker.await(Pattern.compile("broker ready: bootstrap " + Pattern.quote(bootstrap)), START);
            server.await(Pattern.compile("s3 ready: endpoint http://127.0.0.1:" + s3Port), START);
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
                admin.createTopics(List.of(new NewTopic("kept", 1, (short) 1))).all().get();
            }
            try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), new StringSerializer(), new StringSerializer())) {
                p.send(new ProducerRecord<>("kept", "k", "before the restart")).get();
            }
            try (ObjectStore store = ObjectStore.open(s3)) {
                store.put("kept/object.txt", "before the restart".getBytes(StandardCharsets.UTF_8), "text/plain");
            }
            assertEquals(143, broker.stop(Duration.ofSeconds(60)), LauncherProcess.tail(broker.output()));
            assertEquals(143, server.stop(Duration.ofSeconds(60)), LauncherProcess.tail(server.output()));
            assertTrue(broker.output().contains("stopped"), broker.output());
            assertTrue(server.output().contains("stopped"), server.output());
        }

        try (LauncherProcess broker = LauncherProcess.start("broker-2", logs, Map.of(), brokerArgs);
             LauncherProcess server = LauncherProcess.start("s3-2", logs, Map.of(), s3Args)) {
            broker.await(Pattern.compile("broker ready: bootstrap " + Pattern.quote(bootstrap)), START);
            server.await(Pattern.compile("s3 ready"), START);
            assertEquals(List.of("before the restart"), readAll(bootstrap, "kept"));
            try (ObjectStore store = ObjectStore.open(s3)) {
                assertEquals("before the restart", new String(store.get("kept/object.txt"), StandardCharsets.UTF_8));
            }
        }
    }

    private static List<String> readAll(String bootstrap, String topic) {
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), new StringDeserializer(), new StringDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(Set.of(tp));
            c.seekToBeginning(Set.of(tp));
            long end = c.endOffsets(Set.of(tp)).get(tp);
            List<String> values = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (c.position(tp) < end && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(500)).forEach(r -> values.add(r.value()));
            }
            return values;
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
