package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.storage.ObjectStoreConfig;
import io.latentfarm.client.BatchClient;
import io.latentfarm.embedded.EmbeddedKafka;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * docker/compose.local.yaml for real: builds the latentfarm and latentfarm-cli images, starts the
 * stack (broker, S3 server, tiny model, coordinator, two workers on host networking), submits a 2x2
 * batch from the host, {@code docker kill}s the worker that is rendering, and sees the batch complete
 * exactly once with images byte-identical to {@code latentfarm generate}; then restarts the
 * coordinator container and completes another batch.
 *
 * <p>Runs only with {@code LATENTFARM_CONTAINER_TESTS=1} and a Docker engine that answers (skipped
 * otherwise). Base images: {@code LATENTFARM_BASE_IMAGE} / {@code LATENTFARM_BUILD_IMAGE} (default:
 * the Dockerfile's public ones; docker/local-base.sh builds them from Debian packages).
 */
@Tag("containers")
class ContainerStackIT {
    private static final String PROJECT = "latentfarm-it";
    private static final String PROMPT = "Craftsman, Moroccan Ghibli studio style";
    private static final Path COMPOSE = LauncherProcess.root().resolve("docker/compose.local.yaml");

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newHttpClient();
    private List<String> compose;

    @Test
    void composeStackSurvivesAKilledWorkerAndACoordinatorRestart() throws Exception {
        assumeTrue("1".equals(System.getenv("LATENTFARM_CONTAINER_TESTS")), "LATENTFARM_CONTAINER_TESTS=1 not set");
        assumeTrue(run(Duration.ofSeconds(30), "docker", "info").code == 0, "no Docker engine answers");
        compose = run(Duration.ofSeconds(30), "docker", "compose", "version").code == 0
                ? List.of("docker", "compose") : List.of("docker-compose");

        List<String> build = new ArrayList<>(List.of("docker", "build", "--network", "host", "-f", "docker/Dockerfile"));
        for (String arg : new String[] {"BASE_IMAGE", "BUILD_IMAGE"}) {
            String image = System.getenv("LATENTFARM_" + arg);
            if (image != null) {
                build.addAll(List.of("--build-arg", arg + "=" + image));
            }
        }
        ok(Duration.ofMinutes(30), concat(build, "-t", "latentfarm", "."));
        ok(Duration.ofMinutes(10), concat(build, "--target", "cli", "-t", "latentfarm-cli", "."));

        Path tiny = dir.resolve("tiny");
        assertEquals(0, CliTestSupport.run("model", "tiny", "--out", tiny.toString()).code());
        ok(Duration.ofMinutes(2), compose("down", "-v"));
        try {
            ok(Duration.ofMinutes(10), compose("up", "-d"));
            for (int port : new int[] {18080, 18081, 18082}) {
                awaitHealthy(port, Duration.ofMinutes(5));
            }
            String bootstrap = "127.0.0.1:19092";
            ObjectStoreConfig s3 = ObjectStoreConfig.s3Compatible(URI.create("http://127.0.0.1:19000"), "latentfarm",
                    "latentfarm", "latentfarm-secret");
            RenderRequest first = request("containers-1", 1024);
            int kills = 0;
            try (BatchClient client = new BatchClient(bootstrap, Topics.defaults())) {
                client.submit(first);
                String busy = awaitBusyWorker(Duration.ofMinutes(3));
                ok(Duration.ofMinutes(1), "docker", "kill", containerId(busy));
                kills++;
                System.out.println("containers: killed " + busy + " mid-render");
                awaitCompleted(client, first.batchId());

                ok(Duration.ofMinutes(2), "docker", "restart", containerId("coordinator"));
                awaitHealthy(18080, Duration.ofMinutes(5));
                RenderRequest second = request("containers-2", 7);
                client.submit(second);
                awaitCompleted(client, second.batchId());
            }
            long completions = EmbeddedKafka.readAll(bootstrap, Topics.defaults().events(), true).stream()
                    .map(r -> Json.fromBytes(r.value(), BatchEvent.class))
                    .filter(e -> e.type() == BatchEvent.Type.COMPLETED).count();
            assertEquals(2, completions, "one completed event per batch");
            Path generated = dir.resolve("generated");
            CliTestSupport.Run gen = CliTestSupport.run("generate", "--model", tiny.toString(), "--prompt", PROMPT,
                    "--images-per-prompt", "4", "--steps", "15", "--width", "64", "--height", "64", "--seed", "1024",
                    "--scheduler", "pndm", "--out", generated.toString());
            assertEquals(0, gen.code(), gen.err());
            try (ObjectStore store = ObjectStore.open(s3)) {
                for (int i = 0; i < 4; i++) {
                    String name = String.format("%04d.png", i);
                    assertArrayEquals(Files.readAllBytes(generated.resolve(name)),
                            store.get(ObjectKeys.root().image(first.batchId(), i)), name + " differs from generate's");
                }
            }
            System.out.printf("containers: 2 batches, %d worker kills, 1 coordinator restart, duplicate completions 0%n",
                    kills);
        } finally {
            Result logs = run(Duration.ofMinutes(1), compose("logs", "--tail", "40").toArray(String[]::new));
            Files.writeString(dir.resolve("compose.log"), logs.output);
            run(Duration.ofMinutes(3), compose("down", "-v").toArray(String[]::new));
        }
    }

    private static RenderRequest request(String batchId, long seed) {
        return RenderRequest.builder().batchId(batchId).prompt(PROMPT).grid(2, 2).steps(15).size(64, 64)
                .seed(seed).scheduler("pndm").build();
    }

    private void awaitCompleted(BatchClient client, String batchId) {
        try (BatchClient.Events events = client.events(batchId, true)) {
            BatchEvent last = events.awaitFinal(Duration.ofMinutes(5), e -> { }).orElseThrow(
                    () -> new AssertionError("no final event for " + batchId));
            assertEquals(BatchEvent.Type.COMPLETED, last.type(), last.toString());
        }
    }

    /** The compose service (worker-1 or worker-2) whose /health names a job in hand. */
    private String awaitBusyWorker(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (int n = 1; n <= 2; n++) {
                JsonNode h = health(18080 + n);
                if (h != null && !"idle".equals(h.path("details").path("worker").path("details").path("currentJob")
                        .asText("idle"))) {
                    return "worker-" + n;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no worker rendered within " + timeout.toSeconds() + " s");
    }

    private void awaitHealthy(int port, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode h = health(port);
            if (h != null && "UP".equals(h.path("status").asText())) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("nothing healthy on port " + port + " within " + timeout.toSeconds() + " s");
    }

    private JsonNode health(int port) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return Json.newMapper().readTree(r.body());
        } catch (Exception e) {
            return null;
        }
    }

    private String containerId(String service) throws Exception {
        return ok(Duration.ofMinutes(1), compose("ps", "-q", service)).trim();
    }

    private List<String> compose(String... args) {
        List<String> command = new ArrayList<>(compose);
        command.addAll(List.of("-p", PROJECT, "-f", COMPOSE.toString()));
        command.addAll(List.of(args));
        return command;
    }

    private static List<String> concat(List<String> head, String... tail) {
        List<String> all = new ArrayList<>(head);
        all.addAll(List.of(tail));
        return all;
    }

    private String ok(Duration timeout, List<String> command) throws Exception {
        return ok(timeout, command.toArray(String[]::new));
    }

    private String ok(Duration timeout, String... command) throws Exception {
        Result r = run(timeout, command);
        assertEquals(0, r.code, String.join(" ", command) + ":\n" + LauncherProcess.tail(r.output));
        return r.output;
    }

    private record Result(int code, String output) {
    }

    private Result run(Duration timeout, String... command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "cmd", ".log");
        Process p;
        try {
            p = new ProcessBuilder(command).directory(LauncherProcess.root().toFile()).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).start();
        } catch (IOException e) {
            return new Result(127, e.getMessage()); // no such program
        }
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        return new Result(p.isAlive() ? -1 : p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    }
}
