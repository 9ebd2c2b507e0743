package io.latentfarm.coordinator;

import io.latentfarm.client.BatchClient;
import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Micronaut service around the coordinator: configuration, health, {@code GET /batches/{id}}
 * (of a completed and of a cancelled batch).
 */
class CoordinatorServiceTest {
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void servesHealthAndBatchState() throws Exception {
        String prefix = "svc.";
        Map<String, Object> props = Map.of(
                "micronaut.server.port", -1,
                "latentfarm.kafka.bootstrap", Infra.KAFKA.bootstrapServers(),
                "latentfarm.kafka.topic-prefix", prefix,
                "latentfarm.s3.endpoint", Infra.S3.endpoint().toString(),
                "latentfarm.s3.bucket", Infra.S3.bucket(),
                "latentfarm.s3.access-key", Infra.S3.accessKey(),
                "latentfarm.s3.secret-key", Infra.S3.secretKey(),
                "latentfarm.coordinator.group-id", "svc-coordinators",
                "latentfarm.coordinator.transactional-id", "svc-coordinator");
        try (EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, props, "coordinator");
             FakeWorker worker = new FakeWorker(Infra.KAFKA.bootstrapServers(), new Topics(prefix), Infra.STORE,
                     j -> false, j -> j.batchId().equals("svc-cancel"));
             BatchClient client = new BatchClient(Infra.KAFKA.bootstrapServers(), new Topics(prefix))) {
            URI base = server.getURI();
            HttpResponse<String> health = get(base.resolve("/health"));
            assertEquals(200, health.statusCode(), health.body());
            JsonNode h = Json.newMapper().readTree(health.body());
            assertEquals("UP", h.path("status").asText(), health.body());
            assertTrue(h.path("details").path("coordinator").path("details").path("running").asBoolean(), health.body());

            assertEquals(404, get(base.resolve("/batches/nope")).statusCode());
            assertEquals(400, get(base.resolve("/batches/not%20valid")).statusCode());

            client.submit(CoordinatorTest.request("svc-batch"));
            try (BatchClient.Events events = client.events("svc-batch", true)) {
                BatchEvent last = events.awaitFinal(Duration.ofSeconds(60), e -> { }).orElseThrow();
                assertEquals(BatchEvent.Type.COMPLETED, last.type());
            }
            HttpResponse<String> batch = get(base.resolve("/batches/svc-batch"));
            assertEquals(200, batch.statusCode(), batch.body());
            JsonNode b = Json.newMapper().readTree(batch.body());
            assertEquals("completed", b.path("status").asText(), batch.body());
            assertEquals(4, b.path("done").asInt());
            assertEquals("batches/svc-batch/grid.png", b.path("gridKey").asText());
            // streamed from the services' one object store
            assertEquals(200, get(base.resolve("/batches/svc-batch/grid.png")).statusCode());

            try (BatchClient.Events events = client.events("svc-cancel", true)) {
                client.submit(CoordinatorTest.request("svc-cancel"));
                client.cancel("svc-cancel", "not needed");
                assertEquals(BatchEvent.Type.CANCELLED, events.awaitFinal(Duration.ofSeconds(60), e -> { })
                        .orElseThrow().type());
            }
            HttpResponse<String> cancelled = get(base.resolve("/batches/svc-cancel"));
            assertEquals(200, cancelled.statusCode(), cancelled.body());
            JsonNode c = Json.newMapper().readTree(cancelled.body());
            assertEquals("cancelled", c.path("status").asText(), cancelled.body());
            assertEquals("not needed", c.path("reason").asText(), cancelled.body());

            String metrics = get(base.resolve("/prometheus")).body();
            for (String line : new String[]{"latentfarm_batches_total{status=\"completed\"} 1.0",
                    "latentfarm_batches_total{status=\"cancelled\"} 1.0", "latentfarm_batches_running 0.0",
                    "latentfarm_jobs_retried_total 0.0", "latentfarm_jobs_lag ", "jvm_threads_live_threads"}) {
                assertTrue(metrics.contains(line), line + " missing from /prometheus:\n" + metrics);
            }
            HttpResponse<String> page = get(base);
            assertEquals(200, page.statusCode());
            assertTrue(page.headers().firstValue("content-type").orElse("").startsWith("text/html"));
            assertTrue(page.body().contains("assets/app.js"), page.body());
            assertEquals(200, get(base.resolve("/assets/app.js")).statusCode());
            assertEquals(404, get(base.resolve("/assets/index.html")).statusCode());
        }
    }

    /** With latentfarm.http.token set, everything but /health wants it: as a bearer token, or the page's cookie. */
    @Test
    void aTokenProtectsEveryRouteButHealth() throws Exception {
        String prefix = "tok.";
        Map<String, Object> props = Map.of(
                "micronaut.server.port", -1,
                "latentfarm.http.token", "s3cret-token",
                "latentfarm.kafka.bootstrap", Infra.KAFKA.bootstrapServers(),
                "latentfarm.kafka.topic-prefix", prefix,
                "latentfarm.s3.endpoint", Infra.S3.endpoint().toString(),
                "latentfarm.s3.bucket", Infra.S3.bucket(),
                "latentfarm.s3.access-key", Infra.S3.accessKey(),
                "latentfarm.s3.secret-key", Infra.S3.secretKey(),
                "latentfarm.coordinator.group-id", "tok-coordinators",
                "latentfarm.coordinator.transactional-id", "tok-coordinator");
        try (EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, props, "coordinator")) {
            URI base = server.getURI();
            assertEquals(200, get(base.resolve("/health")).statusCode());
            for (String path : new String[]{"/", "/batches/x", "/prometheus", "/workers", "/assets/app.js"}) {
                assertEquals(401, get(base.resolve(path)).statusCode(), path);
            }
            HttpResponse<String> wrong = http.send(HttpRequest.newBuilder(base.resolve("/batches/x"))
                    .header("Authorization", "Bearer nope").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(401, wrong.statusCode());
            HttpResponse<String> bearer = http.send(HttpRequest.newBuilder(base.resolve("/batches/x"))
                    .header("Authorization", "Bearer s3cret-token").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(404, bearer.statusCode(), bearer.body());

            HttpResponse<String> login = get(base.resolve("/?token=s3cret-token"));
            assertEquals(303, login.statusCode());
            String cookie = login.headers().firstValue("set-cookie").orElseThrow().split(";")[0];
            assertTrue(cookie.startsWith("latentfarm-token="), cookie);
            HttpResponse<String> page = http.send(HttpRequest.newBuilder(base).header("Cookie", cookie).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, page.statusCode());
        }
    }

    private HttpResponse<String> get(URI uri) throws Exception {
        return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
