package io.latentfarm.client.kafka;

import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The one place Kafka client settings are made: the bootstrap servers, the operator's pass-through
 * settings ({@code latentfarm.kafka.properties.*}: security, SASL, TLS, timeouts, any client setting),
 * and what each kind of client latentfarm runs needs. What a client needs for correctness
 * (transactional id, isolation level, no auto-commit) is set last and wins over the pass-through;
 * the pass-through wins over the tunable defaults (acks, linger, timeouts).
 */
public final class KafkaClientProperties {
    /** The environment variables of pass-through settings begin with this. */
    public static final String ENV_PREFIX = "LATENTFARM_KAFKA_PROPERTIES_";

    private final String bootstrap;
    private final Map<String, String> passThrough;

    /**
     * @param bootstrap   the bootstrap servers, {@code HOST:PORT[,HOST:PORT...]}
     * @param passThrough Kafka client settings by their Kafka names ({@code security.protocol}, ...); null: none
     */
    public KafkaClientProperties(String bootstrap, Map<String, String> passThrough) {
        if (bootstrap == null || bootstrap.isBlank()) {
            throw new IllegalArgumentException("latentfarm.kafka.bootstrap: not set; give the Kafka bootstrap servers"
                    + " HOST:PORT (LATENTFARM_KAFKA_BOOTSTRAP)");
        }
        this.bootstrap = bootstrap.trim();
        this.passThrough = passThrough == null ? Map.of() : Map.copyOf(new TreeMap<>(passThrough));
    }

    /** No pass-through settings. */
    public static KafkaClientProperties of(String bootstrap) {
        return new KafkaClientProperties(bootstrap, null);
    }

    /**
     * The pass-through settings in a process environment, as the services read them:
     * {@code LATENTFARM_KAFKA_PROPERTIES_SECURITY_PROTOCOL=SASL_SSL} is {@code security.protocol}.
     */
    public static Map<String, String> passThroughFromEnvironment(Map<String, String> env) {
        Map<String, String> out = new TreeMap<>();
        env.forEach((name, value) -> {
            if (name.startsWith(ENV_PREFIX) && name.length() > ENV_PREFIX.length()) {
                out.put(name.substring(ENV_PREFIX.length()).toLowerCase(java.util.Locale.ROOT).replace('_', '.'), value);
            }
        });
        return out;
    }

    public String bootstrap() {
        return bootstrap;
    }

    /** The operator's pass-through settings as given. */
    public Map<String, String> passThrough() {
        return passThrough;
    }

    /** An admin client's settings. */
    public Map<String, Object> admin() {
        Map<String, Object> c = base();
        c.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return c;
    }

    /**
     * A producer that waits for every in-sync replica and never writes a record twice.
     *
     * @param clientId the client id in the broker's logs and metrics; null: Kafka's own
     */
    public Map<String, Object> producer(String clientId) {
        Map<String, Object> c = new HashMap<>();
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        c.putAll(passThrough);
        c.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        putClientId(c, clientId);
        return c;
    }

    /**
     * A transactional producer: its transactional id is also its client id. A restarted process with
     * the same id fences its previous self.
     */
    public Map<String, Object> transactionalProducer(String transactionalId) {
        Objects.requireNonNull(transactionalId, "transactionalId");
        Map<String, Object> c = producer(transactionalId);
        c.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        c.put(ProducerConfig.ACKS_CONFIG, "all");
        return c;
    }

    /**
     * A consumer outside any group (it assigns partitions itself) that reads only committed
     * transactional writes and commits nothing.
     */
    public Map<String, Object> consumer(String clientId) {
        Map<String, Object> c = base();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.remove(ConsumerConfig.GROUP_ID_CONFIG);
        c.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        putClientId(c, clientId);
        return c;
    }

    /**
     * A member of consumer group {@code groupId}: read_committed, offsets committed by the caller
     * (never automatically), a group without offsets starts from the earliest record.
     */
    public Map<String, Object> groupConsumer(String groupId, String clientId) {
        Objects.requireNonNull(groupId, "groupId");
        Map<String, Object> c = new HashMap<>();
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.putAll(passThrough);
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        putClientId(c, clientId);
        return c;
    }

    private Map<String, Object> base() {
        return new HashMap<>(passThrough);
    }

    private static void putClientId(Map<String, Object> c, String clientId) {
        if (clientId != null && !clientId.isBlank()) {
            c.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        }
    }

    @Override
    public String toString() { // pass-through values may hold secrets (sasl.jaas.config)
        return "KafkaClientProperties[bootstrap=" + bootstrap + ", passThrough=" + passThrough.keySet() + "]";
    }
}
