package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.Topics;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.storage.ObjectStoreConfig;
import io.latentfarm.client.BatchClient;
import io.latentfarm.embedded.EmbeddedKafka;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The farm under faults, every part a child process started through the launcher a user runs:
 * {@code latentfarm broker}, {@code latentfarm s3}, {@code latentfarm coordinator} and three
 * {@code latentfarm worker}s on the tiny test model. Per round, 20 small batches go in while the
 * test kills -9 a worker in the middle of a render (twice, each replaced by a new worker), kills -9
 * the coordinator and starts it again, restarts the broker on the same folder and port, and stops
 * the S3 server for 30 s. Then every batch must have completed, with exactly one {@code completed}
 * event under read_committed, every image object must exist, decode, and be byte-identical to what
 * {@code latentfarm generate} renders for the same request, and the dead-letter topic must hold
 * no job (all of them were good).
 *
 * <p>Prints {@code chaos: B batches, K kills, R restarts, O outages, lost L, duplicate completions D}:
 * kills are kill -9s (workers and coordinator), restarts are processes started again after a kill or
 * a stop (replacement workers, the coordinator, the broker), outages are S3 outages. A longer soak:
 * {@code -Dlatentfarm.chaos.rounds=N}.
 */
@Tag("chaos")
class ChaosIT {
    private static final int ROUNDS = Integer.getInteger("latentfarm.chaos.rounds", 1);
    private static final Duration START = Duration.ofSeconds(180);
    private static final Duration S3_OUTAGE = Duration.ofSeconds(30);
    private static final String PROMPT = "Craftsman, Moroccan Ghibli studio style";
    private static final int STEPS = 12;
    /** The batches' seeds: each batch uses one, so a few generate runs give every expected image. */
    private static final long[] SEEDS = {11, 12, 13, 14};

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newHttpClient();
    private final List<LauncherProcess> workers = new ArrayList<>();
    private final Map<String, RenderRequest> submitted = new LinkedHashMap<>();
    private Path logs;
    private Map<String, String> serviceEnv;
    private String[] brokerArgs;
    private String[] s3Args;
    private LauncherProcess broker;
    private LauncherProcess s3;
    private LauncherProcess coordinator;
    private int started;
    private int kills;
    private int restarts;
    private int outages;

    @Test
    void everyBatchCompletesOnceThroughKillsRestartsAndAnS3Outage() throws Exception {
        int kafkaPort = BrokerAndS3CommandsIT.freePort();
        int s3Port = BrokerAndS3CommandsIT.freePort();
        String bootstrap = "127.0.0.1:" + kafkaPort;
        logs = dir.resolve("logs");
        brokerArgs = new String[] {"broker", "--data", dir.resolve("kafka").toString(), "--port", String.valueOf(kafkaPort)};
        s3Args = new String[] {"s3", "--data", dir.resolve("s3").toString(), "--port", String.valueOf(s3Port)};
        ObjectStoreConfig s3Config = ObjectStoreConfig.s3Compatible(URI.create("http://127.0.0.1:" + s3Port),
                "latentfarm", "latentfarm", "latentfarm-secret");
        serviceEnv = new HashMap<>(Map.of(
                "LATENTFARM_KAFKA_BOOTSTRAP", bootstrap,
                "LATENTFARM_S3_ENDPOINT", s3Config.endpoint().toString(),
                "LATENTFARM_S3_ACCESS_KEY", "latentfarm",
                "LATENTFARM_S3_SECRET_KEY", "latentfarm-secret",
                "LATENTFARM_HTTP_PORT", "-1",
                "LATENTFARM_WORKER_MODEL", EndToEndTest.MODEL.toAbsolutePath().toString(),
                "LATENTFARM_JAVA_OPTS", "-Xmx384m"));
        try {
            broker = LauncherProcess.start("broker-" + ++started, logs, Map.of("LATENTFARM_JAVA_OPTS", "-Xmx512m"), brokerArgs);
            s3 = LauncherProcess.start("s3-" + ++started, logs, Map.of("LATENTFARM_JAVA_OPTS", "-Xmx256m"), s3Args);
            broker.await(Pattern.compile("broker ready"), START);
            s3.await(Pattern.compile("s3 ready"), START);
            coordinator = startCoordinator();
            for (int i = 0; i < 3; i++) {
                workers.add(startWorker());
            }
            coordinator.awaitHealthPort(0, START);
            for (LauncherProcess w : workers) {
                w.awaitHealthPort(0, START);
            }

            try (BatchClient client = new BatchClient(bootstrap, Topics.defaults())) {
                for (int round = 1; round <= ROUNDS; round++) {
                    submit(client, round, 6);
                    killAWorkerMidRender();
                    submit(client, round, 4);
                    restartCoordinatorAfterKill();
                    submit(client, round, 4);
                    restartBroker();
                    submit(client, round, 3);
                    s3Outage();
                    submit(client, round, 3);
                    killAWorkerMidRender();
                }
            }
            Map<String, List<BatchEvent>> finals = awaitFinalEvents(bootstrap, Duration.ofMinutes(4 + 2L * ROUNDS));

            int lost = 0;
            int duplicates = 0;
            for (String batch : submitted.keySet()) {
                List<BatchEvent> events = finals.getOrDefault(batch, List.of());
                long completed = events.stream().filter(e -> e.type() == BatchEvent.Type.COMPLETED).count();
                if (completed == 0) {
                    lost++;
                }
                duplicates += (int) Math.max(0, completed - 1);
                assertTrue(events.stream().allMatch(e -> e.type() == BatchEvent.Type.COMPLETED),
                        batch + " ended " + events);
            }
            System.out.printf("chaos: %d batches, %d kills, %d restarts, %d outages, lost %d, duplicate completions %d%n",
                    submitted.size(), kills, restarts, outages, lost, duplicates);
            assertEquals(0, lost, "batches without a completed event: " + finals.keySet());
            assertEquals(0, duplicates, "batches with more than one completed event");

            List<ConsumerRecord<String, byte[]>> dlq = EmbeddedKafka.readAll(bootstrap, Topics.defaults().jobsDlq(), false);
            assertEquals(List.of(), dlq.stream().map(r -> r.key() + ": " + new String(r.value())).toList(),
                    "good jobs in the dead-letter topic");
            assertImagesEqualGenerate(s3Config);
        } finally {
            stopAll();
        }
    }

    // ---- the faults ----

    private void killAWorkerMidRender() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            for (LauncherProcess w : List.copyOf(workers)) {
                JsonNode health = health(w);
                String job = health == null ? "idle" : health.path("details").path("worker").path("details")
                        .path("currentJob").asText("idle");
                if (!"idle".equals(job)) {
                    w.kill();
                    kills++;
                    workers.remove(w);
                    System.out.printf("chaos: killed %s (pid %d) while it rendered %s%n", w.name(), w.pid(), job);
                    // The replacement joins while the scenario goes on (a model load takes a while).
                    workers.add(startWorker());
                    restarts++;
                    return;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no worker was rendering for 120 s: nothing to kill");
    }

    private void restartCoordinatorAfterKill() throws Exception {
        coordinator.kill();
        kills++;
        System.out.printf("chaos: killed %s%n", coordinator.name());
        coordinator = startCoordinator();
        coordinator.awaitHealthPort(0, START);
        restarts++;
    }

    private void restartBroker() throws Exception {
        broker.stop(Duration.ofSeconds(90));
        System.out.printf("chaos: stopped %s%n", broker.name());
        broker = LauncherProcess.start("broker-" + ++started, logs, Map.of("LATENTFARM_JAVA_OPTS", "-Xmx512m"), brokerArgs);
        broker.await(Pattern.compile("broker ready"), START);
        restarts++;
    }

    private void s3Outage() throws Exception {
        s3.stop(Duration.ofSeconds(60));
        outages++;
        System.out.printf("chaos: S3 server stopped for %d s%n", S3_OUTAGE.toSeconds());
        // The outage itself: the services must ride it out, so its length is the scenario, not a wait for a condition.
        Thread.sleep(S3_OUTAGE.toMillis());
        s3 = LauncherProcess.start("s3-" + ++started, logs, Map.of("LATENTFARM_JAVA_OPTS", "-Xmx256m"), s3Args);
        s3.await(Pattern.compile("s3 ready"), START);
    }

    // ---- the parts ----

    private LauncherProcess startCoordinator() {
        Map<String, String> env = new HashMap<>(serviceEnv);
        env.put("LATENTFARM_COORDINATOR_TRANSACTIONAL_ID", "chaos-coordinator-0");
        return LauncherProcess.start("coordinator-" + ++started, logs, env, "coordinator");
    }

    private LauncherProcess startWorker() {
        return LauncherProcess.start("worker-" + ++started, logs, serviceEnv, "worker");
    }

    private void submit(BatchClient client, int round, int count) {
        for (int i = 0; i < count; i++) {
            int n = submitted.size();
            RenderRequest request = RenderRequest.builder().batchId(String.format("chaos-%d-%02d", round, n))
                    .prompt(PROMPT).grid(1, 2).steps(STEPS).size(64, 64).seed(SEEDS[n % SEEDS.length])
                    .scheduler("pndm").build();
            client.submit(request);
            submitted.put(request.batchId(), request);
        }
    }

    /** Each submitted batch's final events (completed, failed, rejected, cancelled), read_committed. */
    private Map<String, List<BatchEvent>> awaitFinalEvents(String bootstrap, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Map<String, List<BatchEvent>> finals = new TreeMap<>();
            for (ConsumerRecord<String, byte[]> r : EmbeddedKafka.readAll(bootstrap, Topics.defaults().events(), true)) {
                BatchEvent e = Json.fromBytes(r.value(), BatchEvent.class);
                if (e.type() != BatchEvent.Type.ACCEPTED && e.type() != BatchEvent.Type.PROGRESS) {
                    finals.computeIfAbsent(e.batchId(), k -> new ArrayList<>()).add(e);
                }
            }
            if (finals.keySet().containsAll(submitted.keySet())) {
                return finals;
            }
            if (System.nanoTime() > deadline) {
                List<String> missing = submitted.keySet().stream().filter(b -> !finals.containsKey(b)).toList();
                throw new AssertionError("no final event within " + timeout.toSeconds() + " s for " + missing
                        + "\n" + processReport());
            }
            Thread.sleep(1000);
        }
    }

    private void assertImagesEqualGenerate(ObjectStoreConfig s3Config) throws Exception {
        Map<Long, Path> generated = new HashMap<>();
        for (long seed : SEEDS) {
            Path out = dir.resolve("generated-" + seed);
            CliTestSupport.Run gen = CliTestSupport.run("generate", "--model", EndToEndTest.MODEL.toString(),
                    "--prompt", PROMPT, "--images-per-prompt", "2", "--steps", String.valueOf(STEPS),
                    "--width", "64", "--height", "64", "--seed", String.valueOf(seed), "--scheduler", "pndm",
                    "--out", out.toString());
            assertEquals(0, gen.code(), gen.err());
            generated.put(seed, out);
        }
        ObjectKeys keys = ObjectKeys.root();
        try (ObjectStore store = ObjectStore.open(s3Config)) {
            for (RenderRequest request : submitted.values()) {
                for (int i = 0; i < 2; i++) {
                    String name = String.format("%04d.png", i);
                    byte[] actual = store.get(keys.image(request.batchId(), i));
                    assertEquals(64, Png.decode(actual).width(), request.batchId() + "/" + name);
                    assertArrayEquals(Files.readAllBytes(generated.get(request.seed()).resolve(name)), actual,
                            request.batchId() + "/" + name + " differs from latentfarm generate's");
                }
                assertTrue(store.exists(keys.grid(request.batchId())), request.batchId() + " grid");
                assertTrue(store.exists(keys.manifest(request.batchId())), request.batchId() + " manifest");
            }
        }
    }

    private JsonNode health(LauncherProcess p) {
        try {
            int port = p.awaitHealthPort(0, Duration.ofSeconds(1));
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return Json.newMapper().readTree(r.body());
        } catch (Exception | AssertionError e) {
            return null; // not ready yet, or gone
        }
    }

    private String processReport() {
        StringBuilder sb = new StringBuilder();
        for (LauncherProcess p : allProcesses()) {
            sb.append("--- ").append(p.name()).append(p.isAlive() ? " (running)" : " (exited)").append('\n')
                    .append(LauncherProcess.tail(p.output())).append('\n');
        }
        return sb.toString();
    }

    private List<LauncherProcess> allProcesses() {
        List<LauncherProcess> all = new ArrayList<>(workers);
        for (LauncherProcess p : new LauncherProcess[] {coordinator, s3, broker}) {
            if (p != null) {
                all.add(p);
            }
        }
        return all;
    }

    private void stopAll() throws InterruptedException {
        for (LauncherProcess p : allProcesses()) {
            p.close();
        }
    }
}
