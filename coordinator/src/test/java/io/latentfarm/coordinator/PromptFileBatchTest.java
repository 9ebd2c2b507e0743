package io.latentfarm.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.client.BatchClient;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.common.spec.RenderSpec;
import io.latentfarm.embedded.EmbeddedKafka;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.latentfarm.coordinator.CoordinatorTest.awaitFinal;
import static io.latentfarm.coordinator.CoordinatorTest.settings;
import static io.latentfarm.coordinator.CoordinatorTest.withGroup;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batches whose lines are a prompt file in the object store ({@code promptsUri}): every line is
 * checked before anything renders, and each image's job is the image of the line's own little
 * batch (or of the request's seed), streamed in index order through the window.
 */
class PromptFileBatchTest {
    static final EmbeddedKafka kafka = Infra.KAFKA;
    static final ObjectStore store = Infra.STORE;

    /** Line i: its own seed and size on even lines (2 images each), the request's seed on odd lines. */
    static String line(int i) {
        return i % 2 == 0
                ? "{\"prompt\": \"even " + i + "\", \"seed\": " + (1000 + i) + ", \"count\": 2, \"width\": "
                + (64 + 8 * (i % 4)) + ", \"height\": 72, \"steps\": 3}"
                : "{\"prompt\": \"odd " + i + "\", \"negativePrompt\": \"blur\", \"id\": \"odd-" + i + "\"}";
    }

    @Test
    void aTwoThousandLineFileRendersEachLineAsItsOwnBatchWouldAndABadLineRejects() throws Exception {
        String prefix = "pf1.";
        Topics topics = new Topics(prefix);
        int lines = 2000;
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < lines; i++) {
            file.append(line(i)).append('\n');
        }
        store.put("inputs/pf1.jsonl", file.toString().getBytes(StandardCharsets.UTF_8), "application/jsonl");
        String bad = line(0) + "\n" + "{\"prompt\": \"x\", \"steps\": 0}\n" + "{\"width\": 64}\n";
        store.put("inputs/pf1-bad.jsonl", bad.getBytes(StandardCharsets.UTF_8), "application/jsonl");

        CoordinatorSettings s = withGroup(settings(prefix), prefix).toBuilder().window(64).build();
        try (Coordinator coordinator = new Coordinator(s, store).start();
             FakeWorker worker = new FakeWorker(kafka.bootstrapServers(), topics, store, j -> false, j -> false);
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics)) {
            worker.uploadWhen = j -> j.index() % 100 == 0;
            RenderRequest request = RenderRequest.builder().batchId("pf").promptsUri("s3://" + store.bucket()
                    + "/inputs/pf1.jsonl").steps(2).size(64, 64).seed(7L).build();
            client.submit(request);
            client.submit(RenderRequest.builder().batchId("pf-bad").promptsUri("s3://" + store.bucket()
                    + "/inputs/pf1-bad.jsonl").seed(7L).build());

            List<BatchEvent> seen = new ArrayList<>();
            BatchEvent rejected = awaitFinal(client, "pf-bad", seen);
            assertEquals(BatchEvent.Type.REJECTED, rejected.type(), rejected.toString());
            assertTrue(rejected.reason().contains("line 2: steps: 0 is outside 1..150"), rejected.reason());
            assertTrue(rejected.reason().contains("line 3: prompt: required"), rejected.reason());

            BatchEvent completed = awaitFinal(client, "pf", seen);
            int lineImages = lines / 2 * 2 + lines / 2;
            assertTrue(seen.stream().anyMatch(e -> e.batchId().equals("pf") && e.type() == BatchEvent.Type.ACCEPTED
                    && e.total() == lineImages), "accepted with the file's image count");
            assertEquals(BatchEvent.Type.COMPLETED, completed.type(), completed.toString());
            int total = lines / 2 * 2 + lines / 2;
            assertEquals(total, completed.total());

            // Every job as the coordinator released it: the image its line's own call makes.
            Map<Integer, RenderJob> jobs = new HashMap<>();
            for (RenderJob j : worker.seen) {
                if (j.batchId().equals("pf")) {
                    jobs.put(j.index(), j);
                }
            }
            assertEquals(total, jobs.size());
            int index = 0;
            for (int i = 0; i < lines; i++) {
                if (i % 2 == 0) {
                    List<ImageSpec> own = RenderSpec.builder().prompt("even " + i).seed(1000L + i).count(2)
                            .size(64 + 8 * (i % 4), 72).steps(3).build().images();
                    for (int j = 0; j < 2; j++) {
                        assertSameImage(own.get(j), jobs.get(index++).image(), "line " + (i + 1) + " image " + j);
                    }
                } else {
                    ImageSpec image = jobs.get(index).image();
                    assertEquals("odd " + i, image.prompt());
                    assertEquals("blur", image.negativePrompt());
                    assertEquals(64, image.width());
                    assertEquals(2, image.steps());
                    assertEquals(7L, image.seed(), "the request's seed");
                    assertEquals(total, image.batchSize(), "a slice of the request's one draw");
                    assertEquals(index, image.sliceIndex());
                    index++;
                }
            }
            BatchSummary summary = coordinator.batch("pf").orElseThrow();
            List<String> manifest = new String(store.get(summary.manifestLinesKey()), StandardCharsets.UTF_8)
                    .lines().toList();
            assertEquals(total, manifest.size());
            JsonNode last = Json.newMapper().readTree(manifest.get(total - 1));
            assertEquals(total - 1, last.path("index").asInt());
            JsonNode labelled = Json.newMapper().readTree(manifest.get(2)); // line 2 (i = 1): after line 1's two images
            assertEquals("odd-1", labelled.path("id").asText(), labelled.toString());
            assertTrue(Json.newMapper().readTree(manifest.get(0)).path("id").isMissingNode(), "no id, no field");
            assertNotNull(store.find(jobs.get(0).objectKey()).orElse(null));
        }
    }

    private static void assertSameImage(ImageSpec expected, ImageSpec actual, String what) {
        assertEquals(expected.prompt(), actual.prompt(), what);
        assertEquals(expected.width(), actual.width(), what);
        assertEquals(expected.height(), actual.height(), what);
        assertEquals(expected.steps(), actual.steps(), what);
        assertEquals(expected.seed(), actual.seed(), what);
        assertEquals(expected.batchSize(), actual.batchSize(), what);
        assertEquals(expected.sliceIndex(), actual.sliceIndex(), what);
    }
}
