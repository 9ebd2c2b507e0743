package io.latentfarm.common.message;

import io.latentfarm.common.validation.Violation;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonTest {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static RenderRequest request(String json) {
        return Json.renderRequest(utf8(json));
    }

    @Test
    void minimalRequestGetsDefaults() {
        RenderRequest r = request("{\"prompt\":\"a cat\"}");
        assertEquals(1, r.schemaVersion());
        assertNull(r.batchId());
        assertEquals(List.of("a cat"), r.prompts());
        assertEquals("", r.negativePrompt());
        assertNull(r.rows());
        assertNull(r.cols());
        assertNull(r.count());
        assertEquals(50, r.steps());
        assertEquals(7.5, r.guidance());
        assertNull(r.seed());
        assertEquals(512, r.width());
        assertEquals(512, r.height());
        assertNull(r.scheduler(), "no scheduler: the model's own, picked by the worker");
        assertNull(r.model());
        assertEquals("batch", r.seedMode());
        assertEquals(1, r.imageCount());
    }

    @Test
    void fullRequestReadsEveryField() {
        RenderRequest r = request("""
                {"schemaVersion":1,"batchId":"b1","prompts":["x","y"],"negativePrompt":"blurry",
                 "rows":2,"cols":3,"count":6,"steps":15,"guidance":9,"seed":1024,"width":640,"height":384,
                 "scheduler":"ddim","model":"CompVis/stable-diffusion-v1-4","seedMode":"per-image"}""");
        assertEquals(RenderRequest.builder().batchId("b1").prompts(List.of("x", "y")).negativePrompt("blurry")
                .grid(2, 3).count(6).steps(15).guidance(9).seed(1024L).size(640, 384).scheduler("ddim")
                .model("CompVis/stable-diffusion-v1-4").seedMode(SeedMode.PER_IMAGE).build(), r);
    }

    @Test
    void promptAndPromptsTakeAStringOrAList() {
        assertEquals(List.of("a", "b"), request("{\"prompt\":[\"a\",\"b\"]}").prompts());
        assertEquals(List.of("a"), request("{\"prompts\":\"a\"}").prompts());
        MessageDecodeException e = assertThrows(MessageDecodeException.class,
                () -> request("{\"prompt\":\"a\",\"prompts\":[\"b\"]}"));
        assertTrue(e.getMessage().contains("not both"), e.getMessage());
    }

    @Test
    void requestRoundTripsAndWritesPromptsOnly() {
        RenderRequest r = RenderRequest.builder().prompt("a cat").grid(4, 3).steps(15).seed(1024L).build();
        String json = Json.toJson(r);
        assertFalse(json.contains("\"prompt\":"), json);
        assertFalse(json.contains("null"), json);
        assertTrue(json.startsWith("{\"schemaVersion\":1,"), json);
        assertEquals(r, Json.renderRequest(Json.toBytes(r)));
    }

    @Test
    void sameMessageSameBytes() {
        RenderRequest r = RenderRequest.builder().prompt("a").count(3).build();
        assertArrayEquals(Json.toBytes(r), Json.toBytes(RenderRequest.builder().prompt("a").count(3).build()));
    }

    @Test
    void unknownPropertiesAreIgnored() {
        assertEquals(List.of("a"), request("{\"prompt\":\"a\",\"addedLater\":{\"x\":1}}").prompts());
    }

    @Test
    void newerSchemaIsRefused() {
        MessageDecodeException e = assertThrows(MessageDecodeException.class,
                () -> request("{\"schemaVersion\":2,\"prompt\":\"a\"}"));
        assertEquals("schemaVersion", e.field());
        assertEquals("schemaVersion: 2 is newer than the newest this program reads (1)", e.getMessage());
    }

    @Test
    void wrongTypeNamesTheField() {
        MessageDecodeException e = assertThrows(MessageDecodeException.class,
                () -> request("{\"prompt\":\"a\",\"steps\":\"many\"}"));
        assertEquals("steps", e.field());
        assertEquals("steps: cannot read \"many\" as an integer", e.getMessage());

        e = assertThrows(MessageDecodeException.class, () -> request("{\"prompt\":\"a\",\"steps\":1.5}"));
        assertEquals("steps", e.field());

        e = assertThrows(MessageDecodeException.class, () -> request("{\"prompts\":[\"a\",{\"b\":1}]}"));
        assertEquals("prompts[1]", e.field());
    }

    @Test
    void notJsonIsReported() {
        MessageDecodeException e = assertThrows(MessageDecodeException.class, () -> request("{\"prompt\":"));
        assertNull(e.field());
        assertTrue(e.getMessage().startsWith("not valid JSON"), e.getMessage());
        assertThrows(MessageDecodeException.class, () -> request("{\"prompt\":\"a\"} trailing"));
        assertThrows(MessageDecodeException.class, () -> Json.renderRequest(new byte[0]));
        assertThrows(MessageDecodeException.class, () -> Json.renderRequest(null));
        assertThrows(MessageDecodeException.class, () -> request("null"));
        assertThrows(MessageDecodeException.class, () -> request("[1,2]"));
    }

    @Test
    void jobRoundTripsAndBadJobsDoNotDecode() {
        RenderRequest r = RenderRequest.builder().batchId("b1").prompt("a").count(2).seed(7L).build();
        RenderJob job = RenderJob.forImage(r, 1, "batches/b1/images/0001.png");
        String json = Json.toJson(job);
        assertTrue(json.contains("\"seedMode\":\"batch\""), json);
        assertTrue(json.contains("\"jobId\":\"b1/0001\""), json);
        assertEquals(job, Json.renderJob(utf8(json)));

        String bad = json.replace("\"index\":1", "\"index\":5");
        MessageDecodeException e = assertThrows(MessageDecodeException.class, () -> Json.renderJob(utf8(bad)));
        assertEquals("index 5 is outside 0..1", e.getMessage());

        String noSeed = json.replace("\"seed\":7,", "");
        assertThrows(MessageDecodeException.class, () -> Json.renderJob(utf8(noSeed)));
        String nullSeed = json.replace("\"seed\":7", "\"seed\":null");
        e = assertThrows(MessageDecodeException.class, () -> Json.renderJob(utf8(nullSeed)));
        assertEquals("seed", e.field());
        String badMode = json.replace("\"batch\"", "\"sometimes\"");
        e = assertThrows(MessageDecodeException.class, () -> Json.renderJob(utf8(badMode)));
        assertEquals("seedMode", e.field());
    }

    @Test
    void resultRoundTrips() {
        RenderRequest r = RenderRequest.builder().batchId("b1").prompt("a").seed(7L).build();
        RenderJob job = RenderJob.forImage(r, 0, "k");
        RenderResult ok = RenderResult.rendered(job, "w1", new RenderResult.Timings(1, 2, 3, 4, 11));
        String json = Json.toJson(ok);
        assertTrue(json.contains("\"status\":\"rendered\""), json);
        assertFalse(json.contains("reason"), json);
        assertFalse(json.contains("\"rendered\":"), json);
        assertEquals(ok, Json.renderResult(utf8(json)));

        assertNull(ok.warnings());
        assertFalse(json.contains("warnings"), json);

        RenderResult warned = RenderResult.rendered(job, "w1", "m", new RenderResult.Timings(1, 2, 3, 4, 11),
                List.of("prompt: 85 CLIP tokens, truncated to 77"));
        assertEquals(warned, Json.renderResult(Json.toBytes(warned)));
        assertTrue(Json.toJson(warned).endsWith(",\"warnings\":[\"prompt: 85 CLIP tokens, truncated to 77\"]}"),
                Json.toJson(warned));
        assertNull(RenderResult.rendered(job, "w1", "m", null, List.of()).warnings());

        // Written before results had warnings: still decodes, with none.
        RenderResult old = Json.renderResult(utf8("""
                {"schemaVersion":1,"batchId":"b1","index":0,"jobId":"b1/0000","status":"rendered","objectKey":"k",
                 "workerId":"w1","timings":{"encodeMs":1,"denoiseMs":2,"decodeMs":3,"uploadMs":4,"totalMs":11},
                 "attempt":1}"""));
        assertEquals(ok, old);

        RenderResult failed = RenderResult.failed(job.withAttempt(3), "w2", "out of memory");
        assertEquals(failed, Json.renderResult(Json.toBytes(failed)));
        assertEquals(3, failed.attempt());
        assertFalse(failed.isRendered());
    }

    @Test
    void eventsRoundTripWithLowercaseTypes() {
        RenderRequest r = RenderRequest.builder().batchId("b1").prompt("a").grid(2, 2).seed(7L).build();
        List<BatchEvent> events = List.of(
                BatchEvent.accepted(r, r.imageCount(), List.of("prompt truncated to 77 tokens")),
                BatchEvent.rejected("b1", List.of(new Violation("steps", "0 is outside 1..150"))),
                BatchEvent.progress("b1", 1, 4),
                BatchEvent.jobProgress("b1", 4, "b1/0001", 3, 15, new BatchEvent.WorkerInfo("w-0", "tiny-sd-v1", "cpu fp32")),
                BatchEvent.completed("b1", "latentfarm", List.of("k0", "k1", "k2", "k3"), "g", "m"),
                BatchEvent.completed("b1", "latentfarm", List.of("k0"), "g", "m",
                        List.of("negativePrompt: 80 CLIP tokens, truncated to 77", "prompt: 85 CLIP tokens, truncated to 77")),
                BatchEvent.progress("b1", 2, 4, List.of("prompt: 85 CLIP tokens, truncated to 77")),
                BatchEvent.failed("b1", "image 2 failed 3 times"),
                BatchEvent.cancelled("b1", "by user"));
        for (BatchEvent event : events) {
            assertEquals(event, Json.batchEvent(Json.toBytes(event)));
        }
        assertTrue(Json.toJson(events.get(0)).contains("\"type\":\"accepted\""));
        assertEquals("{\"schemaVersion\":1,\"type\":\"rejected\",\"batchId\":\"b1\",\"reason\":\"steps: 0 is outside"
                        + " 1..150\",\"violations\":[{\"field\":\"steps\",\"message\":\"0 is outside 1..150\"}]}",
                Json.toJson(events.get(1)));
        assertEquals(4, events.get(0).total());
        assertFalse(Json.toJson(events.get(4)).contains("warnings"));
        assertNull(BatchEvent.completed("b1", "latentfarm", List.of("k0"), "g", "m", List.of()).warnings());
        assertEquals(2, events.get(5).warnings().size());
        assertFalse(BatchEvent.Type.PROGRESS.isFinal());
        assertTrue(BatchEvent.Type.COMPLETED.isFinal());
    }

    @Test
    void cancelRequestRoundTripsAndIsToldApartFromRenderRequests() {
        CancelRequest cancel = CancelRequest.of("b1", "wrong prompt");
        assertEquals("{\"schemaVersion\":1,\"type\":\"cancel\",\"batchId\":\"b1\",\"reason\":\"wrong prompt\"}",
                Json.toJson(cancel));
        assertEquals(cancel, Json.cancelRequest(Json.toBytes(cancel)));
        CancelRequest bare = Json.cancelRequest(utf8("{\"type\":\"cancel\"}"));
        assertNull(bare.batchId());
        assertEquals(CancelRequest.DEFAULT_REASON, bare.reasonOrDefault());

        assertEquals("cancel", Json.requestType(Json.toBytes(cancel)));
        assertEquals("render", Json.requestType(utf8("{\"type\":\"render\",\"prompt\":\"x\"}")));
        assertEquals("7", Json.requestType(utf8("{\"type\":7}")));
        assertNull(Json.requestType(utf8("{\"prompt\":\"x\"}")));
        assertNull(Json.requestType(utf8("{\"prompt\": oops")));
        assertNull(Json.requestType(utf8("[1]")));
        assertNull(Json.requestType(new byte[0]));
        // A render request with "type": "render" reads as one without it.
        assertEquals(request("{\"prompt\":\"x\"}"), request("{\"type\":\"render\",\"prompt\":\"x\"}"));
    }
}
