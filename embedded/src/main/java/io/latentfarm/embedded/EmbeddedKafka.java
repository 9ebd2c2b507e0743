package io.latentfarm.embedded;

import io.latentfarm.client.kafka.KafkaClientProperties;
import io.latentfarm.client.kafka.TopicReader;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real single-node Kafka broker (KRaft, combined broker and controller, {@code kafka_2.13}) in
 * this JVM, listening on 127.0.0.1 on a free port, with its logs in a folder of the caller's.
 *
 * <p>Settings for one node: replication factor and min ISR 1 for the internal topics (offsets,
 * transaction state, share-group state), so consumer groups and transactional producers
 * (Kafka Streams' exactly_once_v2) work; no initial rebalance delay; a small log-cleaner buffer.
 * The folder is formatted on first use and reused as is afterwards: topics and offsets survive a
 * restart on the same folder, which one broker at a time may use (a lock file guards it).
 * {@link #close()} stops the broker and deletes nothing.
 *
 * <p>Like a standalone broker, Kafka halts the JVM on a fatal internal fault (a corrupt metadata
 * log, say): the broker cannot continue, and neither can a process built around it.
 */
public final class EmbeddedKafka implements AutoCloseable {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final int START_ATTEMPTS = 3;

    private final KafkaRaftServer server;
    private final FolderLock lock;
    private final String bootstrapServers;
    private final Path dataDir;
    private final String clusterId;
    private boolean closed;

    private EmbeddedKafka(KafkaRaftServer server, FolderLock lock, String bootstrapServers, Path dataDir,
                          String clusterId) {
        this.server = server;
        this.lock = lock;
        this.bootstrapServers = bootstrapServers;
        this.dataDir = dataDir;
        this.clusterId = clusterId;
    }

    /** Starts a broker with its data in {@code dataDir} (created if missing) and waits until it serves. */
    public static EmbeddedKafka start(Path dataDir) {
        return start(dataDir, Map.of());
    }

    /**
     * Starts a broker; {@code overrides} are broker settings that replace or add to ours (for
     * example {@code num.partitions}). Listener and quorum settings are ours to choose.
     */
    public static EmbeddedKafka start(Path dataDir, Map<String, String> overrides) {
        return start(dataDir, 0, overrides);
    }

    /**
     * Starts a broker whose clients connect to {@code 127.0.0.1:port} ({@code 0}: a free port), so a
     * restarted broker keeps its address ({@code latentfarm broker --port}). The controller's port is
     * always a free one: only this process connects to it.
     */
    public static EmbeddedKafka start(Path dataDir, int port, Map<String, String> overrides) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " is not in 0..65535");
        }
        QuietLogging.forKafka();
        Path dir = dataDir.toAbsolutePath();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create Kafka data folder " + dir, e);
        }
        FolderLock lock = FolderLock.acquire(dir, "Kafka");
        try {
            return startLocked(dir, port, overrides, lock);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    private static EmbeddedKafka startLocked(Path dir, int port, Map<String, String> overrides, FolderLock lock) {
        RuntimeException lastFailure = null;
        // The ports are chosen before binding (the quorum voter list names the controller's), so
        // another process can take one in between: try again with fresh ports.
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            int brokerPort = port == 0 ? FreePorts.next() : port;
            int controllerPort = FreePorts.next();
            Properties props = brokerProperties(dir, brokerPort, controllerPort);
            overrides.forEach(props::setProperty);
            String clusterId = formatIfNeeded(dir);
            KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
            try {
                server.startup();
            } catch (RuntimeException e) {
                stopQuietly(server);
                if (!isBindFailure(e) || port != 0 && attempt == START_ATTEMPTS) {
                    throw new IllegalStateException("Kafka broker did not start: " + e.getMessage(), e);
                }
                lastFailure = e;
                continue;
            }
            String bootstrap = "127.0.0.1:" + brokerPort;
            EmbeddedKafka kafka = new EmbeddedKafka(server, lock, bootstrap, dir, clusterId);
            try {
                kafka.awaitReady();
            } catch (RuntimeException e) {
                stopQuietly(server);
                throw e;
            }
            return kafka;
        }
        throw new IllegalStateException("Kafka broker did not start in " + START_ATTEMPTS + " attempts", lastFailure);
    }

    private static boolean isBindFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.BindException) {
                return true;
            }
        }
        return false;
    }

    private static Properties brokerProperties(Path dir, int brokerPort, int controllerPort) {
        Properties p = new Properties();
        p.setProperty("process.roles", "broker,controller");
        p.setProperty("node.id", "1");
        p.setProperty("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        p.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.setProperty("controller.listener.names", "CONTROLLER");
        p.setProperty("inter.broker.listener.name", "PLAINTEXT");
        p.setProperty("log.dirs", dir.toString());
        p.setProperty("metadata.log.dir", dir.toString());
        // One node: internal topics cannot have more than one replica.
        p.setProperty("offsets.topic.replication.factor", "1");
        p.setProperty("transaction.state.log.replication.factor", "1");
        p.setProperty("transaction.state.log.min.isr", "1");
        p.setProperty("share.coordinator.state.topic.replication.factor", "1");
        p.setProperty("share.coordinator.state.topic.min.isr", "1");
        p.setProperty("default.replication.factor", "1");
        p.setProperty("min.insync.replicas", "1");
        // Fewer internal partitions: each is a log to create and load; one node gains nothing from 50.
        p.setProperty("offsets.topic.num.partitions", "5");
        p.setProperty("transaction.state.log.num.partitions", "5");
        p.setProperty("share.coordinator.state.topic.num.partitions", "5");
        // A group forms as soon as its first member joins, instead of waiting 3 s for more.
        p.setProperty("group.initial.rebalance.delay.ms", "0");
        // The log cleaner (compacted topics) allocates its whole dedupe buffer on start: 128 MiB by default.
        p.setProperty("log.cleaner.dedupe.buffer.size", String.valueOf(8 << 20));
        p.setProperty("num.network.threads", "2");
        p.setProperty("num.io.threads", "4");
        return p;
    }

    /** Formats an empty folder as a new cluster; returns the folder's cluster id. */
    private static String formatIfNeeded(Path dir) {
        Path meta = dir.resolve("meta.properties");
        if (Files.exists(meta)) {
            return readClusterId(meta);
        }
        String clusterId = Uuid.randomUuid().toString();
        try {
            new Formatter()
                    .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .setNodeId(1)
                    .setClusterId(clusterId)
                    .setControllerListenerName("CONTROLLER")
                    .setMetadataLogDirectory(dir.toString())
                    .addDirectory(dir.toString())
                    .run();
        } catch (Exception e) {
            throw new IllegalStateException("cannot format Kafka data folder " + dir + ": " + e.getMessage(), e);
        }
        return clusterId;
    }

    private static String readClusterId(Path meta) {
        Properties p = new Properties();
        try (var in = Files.newInputStream(meta)) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + meta, e);
        }
        return p.getProperty("cluster.id");
    }

    // startup() returns before the broker has registered with the controller and is unfenced;
    // wait until a client sees it.
    private void awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        try (Admin admin = Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10000))) {
            while (true) {
                try {
                    var nodes = admin.describeCluster().nodes().get(10, TimeUnit.SECONDS);
                    if (!nodes.isEmpty()) {
                        return;
                    }
                } catch (ExecutionException | TimeoutException e) {
                    // not serving yet
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Kafka broker on " + bootstrapServers
                            + " did not become ready in " + READY_TIMEOUT.toSeconds() + " s");
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the Kafka broker", e);
        }
    }

    /** {@code 127.0.0.1:<port>}, for clients' {@code bootstrap.servers}. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /**
     * Every record of {@code topic}, all partitions, from the beginning to the end offsets at the
     * time of the call: for checking what a run wrote.
     *
     * @param readCommitted read only committed transactional writes (what a careful consumer sees)
     */
    public List<ConsumerRecord<String, byte[]>> readAll(String topic, boolean readCommitted) {
        return readAll(bootstrapServers, topic, readCommitted);
    }

    /** {@link #readAll(String, boolean)} from any broker (one in another process, say). */
    public static List<ConsumerRecord<String, byte[]>> readAll(String bootstrapServers, String topic,
                                                                boolean readCommitted) {
        Map<String, Object> config = KafkaClientProperties.of(bootstrapServers).consumer(null);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, readCommitted ? "read_committed" : "read_uncommitted");
        return TopicReader.readAll(config, topic, Duration.ofSeconds(30));
    }

    public Path dataDir() {
        return dataDir;
    }

    public String clusterId() {
        return clusterId;
    }

    /** Stops the broker (controlled shutdown) and waits for it; the data folder stays. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopQuietly(server);
        lock.close();
    }

    private static void stopQuietly(KafkaRaftServer server) {
        try {
            server.shutdown();
            server.awaitShutdown();
        } catch (RuntimeException e) {
            // Shutting down a half-started server may fail; nothing more to release.
        }
    }
}
