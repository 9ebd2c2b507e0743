package io.latentfarm.coordinator;

import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.RenderResult;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The state topic's JSON: images' warnings round-trip, and states written before they existed still decode. */
class BatchStateTest {
    static final RenderRequest REQUEST = RenderRequest.builder().batchId("b").prompt("a").count(3).steps(2)
            .size(64, 64).seed(7L).build();

    static BatchState.Image image(int index, List<String> warnings) {
        return new BatchState.Image("batches/b/images/000" + index + ".png", "w", 1, "m", "pndm",
                new RenderResult.Timings(0, 1, 1, 1, 3), 1000 + index, warnings);
    }

    @Test
    void warningsRoundTripAndTheBatchHasThemDistinctAndSorted() {
        BatchState state = BatchState.accepted(REQUEST, 1000)
                .withImage(0, image(0, List.of("prompt: 85 CLIP tokens, truncated to 77")), 1001)
                .withImage(2, image(2, List.of("prompt: 85 CLIP tokens, truncated to 77",
                        "negativePrompt: 80 CLIP tokens, truncated to 77")), 1002);
        assertEquals(List.of("negativePrompt: 80 CLIP tokens, truncated to 77", "prompt: 85 CLIP tokens, truncated to 77"),
                state.warnings());
        assertEquals(state, Json.fromBytes(Json.toBytes(state), BatchState.class));

        BatchState plain = BatchState.accepted(REQUEST, 1000).withImage(1, image(1, List.of()), 1001);
        assertNull(plain.images().get(1).warnings());
        assertEquals(List.of(), plain.warnings());
        assertFalse(Json.toJson(plain).contains("warnings"), Json.toJson(plain));
    }

    @Test
    void stateWrittenBeforeWarningsStillDecodes() {
        String old = """
                {"schemaVersion":1,"batchId":"b","status":"completed","done":1,"total":1,"acceptedAt":1000,
                 "lastProgressAt":1002,"completedAt":1002,"bucket":"latentfarm","gridKey":"batches/b/grid.png",
                 "manifestKey":"batches/b/manifest.json","attempts":[1],
                 "images":[{"objectKey":"batches/b/images/0000.png","workerId":"w","attempt":1,"model":"m",
                   "timings":{"encodeMs":0,"denoiseMs":1,"decodeMs":1,"uploadMs":1,"totalMs":3},"receivedAt":1001}],
                 "request":{"schemaVersion":1,"batchId":"b","prompts":["a"],"steps":2,"seed":7,"width":64,"height":64}}""";
        BatchState state = Json.fromBytes(old.getBytes(StandardCharsets.UTF_8), BatchState.class);
        assertEquals(BatchState.Status.COMPLETED, state.status());
        assertNull(state.images().get(0).warnings());
        assertEquals(List.of(), state.warnings());
        Manifest manifest = Manifest.of(state);
        assertNull(manifest.warnings());
        assertTrue(new String(Json.toPrettyBytes(manifest), StandardCharsets.UTF_8).contains("\"workerId\" : \"w\""));
        assertFalse(new String(Json.toPrettyBytes(manifest), StandardCharsets.UTF_8).contains("warnings"));
    }

    @Test
    void cancelledStateKeepsItsImagesAndReasonAndRoundTrips() {
        BatchState cancelled = BatchState.accepted(REQUEST, 1000).withImage(0, image(0, null), 1001)
                .cancelled(1005, "wrong prompt");
        assertEquals(BatchState.Status.CANCELLED, cancelled.status());
        assertFalse(cancelled.isRunning());
        assertEquals("wrong prompt", cancelled.reason());
        assertEquals(1005L, cancelled.completedAt());
        assertEquals(1, cancelled.done());
        assertTrue(Json.toJson(cancelled).contains("\"status\":\"cancelled\""), Json.toJson(cancelled));
        assertEquals(cancelled, Json.fromBytes(Json.toBytes(cancelled), BatchState.class));
    }
}
