package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.BatchClient;
import io.latentfarm.embedded.EmbeddedKafka;
import io.latentfarm.embedded.EmbeddedS3;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One role per process, from the packaged distribution through the launcher the image runs
 * ({@code ./latentfarm coordinator|worker}, the service class path that holds both roles' classes),
 * against an embedded broker and S3 server: each process creates only its own role's beans, and two
 * workers with identical environments (no transactional id, no worker id, a random HTTP port) both
 * stay UP while sharing a batch.
 */
class RoleIT {
    private static final Duration START = Duration.ofSeconds(120);
    private static final ObjectMapper JSON = Json.newMapper();
    private final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    @Test
    void eachRoleAloneAndTwoIdenticalWorkersShareABatch() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
             EmbeddedS3 s3 = EmbeddedS3.start(dir.resolve("s3"))) {
            Map<String, String> env = new HashMap<>(Map.of(
                    "LATENTFARM_KAFKA_BOOTSTRAP", kafka.bootstrapServers(),
                    "LATENTFARM_S3_ENDPOINT", s3.endpoint().toString(),
                    "LATENTFARM_S3_ACCESS_KEY", s3.accessKey(),
                    "LATENTFARM_S3_SECRET_KEY", s3.secretKey(),
                    "LATENTFARM_HTTP_PORT", "-1",
                    // Micronaut's bean listing, for this test only: which beans each process created.
                    "LATENTFARM_JAVA_OPTS", "-Xmx512m -Dendpoints.beans.enabled=true -Dendpoints.beans.sensitive=false"));
            Map<String, String> coordinatorEnv = new HashMap<>(env);
            coordinatorEnv.put("LATENTFARM_COORDINATOR_TRANSACTIONAL_ID", "role-test-coordinator-0");
            coordinatorEnv.put("LATENTFARM_LOG_FORMAT", "json");
            Map<String, String> workerEnv = new HashMap<>(env);
            workerEnv.put("LATENTFARM_WORKER_MODEL", EndToEndTest.MODEL.toAbsolutePath().toString());

            Path logs = dir.resolve("logs");
            try (LauncherProcess coordinator = LauncherProcess.start("coordinator", logs, coordinatorEnv, "coordinator");
                 LauncherProcess worker1 = LauncherProcess.start("worker-1", logs, workerEnv, "worker");
                 LauncherProcess worker2 = LauncherProcess.start("worker-2", logs, workerEnv, "worker")) {
                URI c = URI.create("http://127.0.0.1:" + coordinator.awaitHealthPort(0, START));
                URI w1 = URI.create("http://127.0.0.1:" + worker1.awaitHealthPort(0, START));
                URI w2 = URI.create("http://127.0.0.1:" + worker2.awaitHealthPort(0, START));

                JsonNode ch = health(c);
                assertEquals("UP", ch.path("details").path("coordinator").path("status").asText(), ch.toString());
                assertTrue(ch.path("details").path("worker").isMissingNode(), "a worker in the coordinator: " + ch);
                Set<String> cb = latentfarmBeans(c);
                assertTrue(cb.stream().anyMatch(b -> b.startsWith("io.latentfarm.coordinator.")), cb.toString());
                assertTrue(cb.stream().noneMatch(b -> b.startsWith("io.latentfarm.worker.")), "worker beans: " + cb);

                for (URI w : new URI[] {w1, w2}) {
                    JsonNode wh = health(w);
                    assertEquals("UP", wh.path("details").path("worker").path("status").asText(), wh.toString());
                    assertTrue(wh.path("details").path("coordinator").isMissingNode(), "a coordinator in a worker: " + wh);
                    Set<String> wb = latentfarmBeans(w);
                    assertTrue(wb.stream().anyMatch(b -> b.startsWith("io.latentfarm.worker.")), wb.toString());
                    assertTrue(wb.stream().noneMatch(b -> b.startsWith("io.latentfarm.coordinator.")),
                            "coordinator beans: " + wb);
                }

                // Six images, so both workers get some (12 job partitions shared 6 and 6).
                RenderRequest request = RenderRequest.builder().batchId("role-batch").prompt("a red fox")
                        .grid(2, 3).steps(3).size(64, 64).seed(7L).build();
                try (BatchClient client = new BatchClient(kafka.bootstrapServers(), Topics.defaults());
                     BatchClient.Events events = client.events(request.batchId(), true)) {
                    client.submit(request);
                    BatchEvent last = events.awaitFinal(Duration.ofSeconds(180), e -> { }).orElseThrow();
                    assertEquals(BatchEvent.Type.COMPLETED, last.type(), last.toString());
                }
                try (ObjectStore store = ObjectStore.open(s3.objectStoreConfig())) {
                    JsonNode manifest = JSON.readTree(store.get(ObjectKeys.root().manifest(request.batchId())));
                    Set<String> renderedBy = new HashSet<>();
                    manifest.path("images").forEach(i -> renderedBy.add(i.path("workerId").asText()));
                    assertEquals(2, renderedBy.size(), "both workers rendered: " + manifest);
                }
                for (URI w : new URI[] {w1, w2}) {
                    JsonNode wh = health(w);
                    assertEquals("UP", wh.path("status").asText(), wh.toString());
                }
                for (LauncherProcess p : new LauncherProcess[] {coordinator, worker1, worker2}) {
                    assertTrue(p.isAlive(), p.name() + " exited:\n" + LauncherProcess.tail(p.output()));
                    assertFalse(p.output().contains("ProducerFencedException"), p.name() + " was fenced");
                }
                // The services log at INFO; LATENTFARM_LOG_FORMAT=json makes every line one JSON object.
                assertTrue(worker1.output().contains("INFO"), worker1.output());
                for (String line : coordinator.output().split("\n")) {
                    if (!line.isBlank()) {
                        JSON.readTree(line);
                    }
                }
                assertTrue(coordinator.output().contains("\"formattedMessage\":\"latentfarm coordinator ready"),
                        coordinator.output());

                // SIGTERM stops a role cleanly: its shutdown hook closes the context (the JVM then exits 128+15).
                assertEquals(143, worker2.stop(Duration.ofSeconds(60)), LauncherProcess.tail(worker2.output()));
                assertTrue(worker2.output().contains("Embedded Application shutting down"), worker2.output());
            }
        }
    }

    private JsonNode health(URI base) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve("/health"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    /** The latentfarm bean definitions of the process's context ({@code GET /beans}). */
    private Set<String> latentfarmBeans(URI base) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve("/beans"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        Set<String> names = new HashSet<>();
        JSON.readTree(r.body()).path("beans").fields().forEachRemaining(e -> {
            String type = e.getValue().path("type").asText(e.getKey());
            if (type.startsWith("io.latentfarm.") || e.getKey().startsWith("io.latentfarm.")) {
                names.add(type.startsWith("io.latentfarm.") ? type : e.getKey());
            }
        });
        return names;
    }
}
