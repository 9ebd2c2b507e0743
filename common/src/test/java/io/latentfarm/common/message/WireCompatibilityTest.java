package io.latentfarm.common.message;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.spec.ImageSpec;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Requests and jobs as earlier versions wrote them still decode to the same images. */
class WireCompatibilityTest {

    private static <T> T read(String json, Class<T> type) {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        return type == RenderJob.class ? type.cast(Json.renderJob(bytes)) : type.cast(Json.renderRequest(bytes));
    }

    @Test
    void anOldRequestDecodesWithTheTableDefaults() {
        RenderRequest r = read("{\"batchId\":\"my-batch-1\",\"prompt\":\"Craftsman, Moroccan Ghibli studio style\","
                + "\"rows\":2,\"cols\":2,\"steps\":15,\"seed\":1024}", RenderRequest.class);
        assertEquals(List.of("Craftsman, Moroccan Ghibli studio style"), r.prompts());
        assertEquals(4, r.imageCount());
        assertEquals(15, r.steps());
        assertEquals(7.5, r.guidance());
        assertEquals(512, r.width());
        assertEquals("", r.negativePrompt());
        assertEquals("batch", r.seedMode());
        assertNull(r.scheduler());
        assertNull(r.promptsUri());
        assertEquals(0, r.priority());
        assertEquals(new ImageSpec("Craftsman, Moroccan Ghibli studio style", "", 15, 7.5, 512, 512, null, 1024, 4, 3,
                null), r.image(3));
    }

    @Test
    void aRequestKeepsItsFlatShapeOnTheWire() {
        RenderRequest r = RenderRequest.builder().batchId("b").prompts(List.of("a", "b")).count(4).seed(9L)
                .promptsUri(null).priority(3).build();
        JsonNode node = Json.read(Json.toBytes(r), JsonNode.class);
        assertEquals("a", node.get("prompts").get(0).asText());
        assertEquals(4, node.get("count").asInt());
        assertEquals(50, node.get("steps").asInt());
        assertEquals(3, node.get("priority").asInt());
        assertFalse(node.has("spec"));
        assertEquals(r, Json.renderRequest(Json.toBytes(r)));
        RenderRequest file = read("{\"promptsUri\":\"s3://latentfarm/prompts/p.jsonl\",\"priority\":5}", RenderRequest.class);
        assertEquals("s3://latentfarm/prompts/p.jsonl", file.promptsUri());
        assertEquals(5, file.priority());
    }

    /** The job JSON of the release before image specs: per-image jobs carried the batch seed S. */
    private static final String OLD_PER_IMAGE_JOB = "{\"schemaVersion\":1,\"jobId\":\"b-1/0003\",\"batchId\":\"b-1\","
            + "\"index\":3,\"total\":4,\"prompt\":\"b\",\"negativePrompt\":\"n\",\"steps\":15,\"guidance\":7.5,"
            + "\"width\":64,\"height\":64,\"model\":\"tiny\",\"seed\":1024,\"seedMode\":\"per-image\",\"batchSize\":1,"
            + "\"sliceIndex\":0,\"attempt\":2,\"objectKey\":\"batches/b-1/images/0003.png\"}";

    @Test
    void anOldPerImageJobDrawsSeedPlusIndex() {
        RenderJob job = read(OLD_PER_IMAGE_JOB, RenderJob.class);
        assertEquals(new ImageSpec("b", "n", 15, 7.5, 64, 64, null, 1027, 1, 0, null), job.image());
        assertEquals(2, job.attempt());
        RenderRequest request = RenderRequest.builder().batchId("b-1").prompts(List.of("a", "b")).negativePrompt("n")
                .count(4).steps(15).seed(1024L).size(64, 64).model("tiny").seedMode(SeedMode.PER_IMAGE).build();
        assertEquals(RenderJob.forImage(request, 3, "batches/b-1/images/0003.png").withAttempt(2), job);
    }

    @Test
    void anOldBatchJobIsSliceOfTheBatchDraw() {
        RenderJob job = read(OLD_PER_IMAGE_JOB.replace("per-image", "batch").replace("\"batchSize\":1", "\"batchSize\":4")
                .replace("\"sliceIndex\":0", "\"sliceIndex\":3"), RenderJob.class);
        assertEquals(new ImageSpec("b", "n", 15, 7.5, 64, 64, null, 1024, 4, 3, null), job.image());
    }

    @Test
    void newJobsWriteTheGeneratorSeedInBatchModeSoOlderWorkersDrawTheSameNoise() {
        RenderJob job = read(OLD_PER_IMAGE_JOB, RenderJob.class).withAttempt(1);
        JsonNode node = Json.read(Json.toBytes(job), JsonNode.class);
        assertEquals(1027, node.get("seed").asLong());
        assertEquals("batch", node.get("seedMode").asText());
        assertEquals(1, node.get("batchSize").asInt());
        assertEquals("b", node.get("prompt").asText());
        assertFalse(node.has("image"));
        assertEquals(job, Json.renderJob(Json.toBytes(job)));
        RenderJob labelled = RenderJob.forImage("b-1", 0, 1, job.image().withId("cat-01"), null, "k");
        assertEquals("cat-01", Json.renderJob(Json.toBytes(labelled)).image().id());
    }
}
