package io.latentfarm.worker.service;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.message.Json;
import io.latentfarm.embedded.EmbeddedKafka;
import io.latentfarm.embedded.EmbeddedS3;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Micronaut worker service: loads the model from configuration and reports it in /health. */
class WorkerServiceTest {
    @TempDir
    Path dir;

    @Test
    void healthSaysTheModelIsLoadedAndWhere() throws Exception {
        Path model = Path.of(System.getProperty("latentfarm.fixtures", "../fixtures"), "tiny-sd-v1");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
             EmbeddedS3 s3 = EmbeddedS3.start(dir.resolve("s3"));
             EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, Map.of(
                     "micronaut.server.port", -1,
                     "latentfarm.kafka.bootstrap", kafka.bootstrapServers(),
                     "latentfarm.s3.endpoint", s3.endpoint().toString(),
                     "latentfarm.s3.access-key", s3.accessKey(),
                     "latentfarm.s3.secret-key", s3.secretKey(),
                     "latentfarm.worker.model", model.toString(),
                     "latentfarm.worker.worker-id", "svc-worker",
                     "latentfarm.worker.device", "cpu",
                     "latentfarm.worker.dtype", "bf16"), "worker")) {
            HttpResponse<String> health = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(server.getURI().resolve("/health")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode(), health.body());
            JsonNode worker = Json.newMapper().readTree(health.body()).path("details").path("worker").path("details");
            assertTrue(worker.path("modelLoaded").asBoolean(), health.body());
            assertEquals("tiny-sd-v1", worker.path("model").asText(), health.body());
            assertEquals("cpu", worker.path("device").asText(), health.body());
            assertEquals("bf16", worker.path("dtype").asText(), health.body());
            assertEquals("svc-worker", worker.path("workerId").asText(), health.body());
        }
    }
}
