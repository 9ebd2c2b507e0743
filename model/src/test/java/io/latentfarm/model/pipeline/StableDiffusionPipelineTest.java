package io.latentfarm.model.pipeline;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.latentfarm.common.SchedulerRegistry;
import io.latentfarm.model.files.SafeTensors;
import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

/** Every pipeline case of the fixture, end to end, against diffusers' own outputs. */
class StableDiffusionPipelineTest {
    private static StableDiffusionPipeline pipe;

    @BeforeAll
    static void load() {
        pipe = StableDiffusionPipeline.load(Reference.tinyModel(), PipelineOptions.cpu());
    }

    @AfterAll
    static void close() {
        pipe.close();
    }

    static GenerationRequest requestOf(JsonNode c) {
        JsonNode call = c.get("call");
        List<String> prompts = new ArrayList<>();
        if (call.get("prompt").isArray()) call.get("prompt").forEach(p -> prompts.add(p.asText()));
        else prompts.add(call.get("prompt").asText());
        return new GenerationRequest(prompts, call.path("negative_prompt").asText(""),
                call.get("num_images_per_prompt").asInt(), call.get("num_inference_steps").asInt(),
                call.get("guidance_scale").asDouble(), call.get("seed").asLong(), call.get("width").asInt(),
                call.get("height").asInt(), schedulerKind(c.get("scheduler")));
    }

    /** The short name of a case's scheduler: the registry entry its resolved config is. */
    static String schedulerKind(JsonNode scheduler) {
        Map<String, Object> config = new ObjectMapper().convertValue(scheduler.get("config"), Map.class);
        return SchedulerRegistry.nameFor(scheduler.get("class").asText(), config).orElseThrow().name();
    }

    /**
     * Every sampler renders, and the loop runs like diffusers': every model call reaches
     * onLatents (Heun and DPM2: 2n - 1, PNDM: n + 1, PLMS with its warm-up: n + 9), while onStep
     * counts the n steps asked for, ending at n of n.
     */
    @Test
    void everySamplerRendersAndProgressCountsTheStepsAsked() {
        for (SchedulerRegistry.Entry e : SchedulerRegistry.all()) {
            int steps = e.name().equals("pndm_prk") ? 4 : 2; // PLMS' warm-up needs 4; few calls keep this quick
            int calls;
            try (var s = pipe.scheduler(e.name())) {
                s.setTimesteps(steps);
                calls = s.numSteps();
            }
            List<Integer> done = new ArrayList<>();
            int[] latents = {0};
            List<RenderedImage> images = pipe.generate(new GenerationRequest(List.of("x"), "", 1, steps, 1.0, 1, 32, 32,
                    e.name()), new int[] {0}, new ProgressListener() {
                @Override
                public void onStep(int step, int total) {
                    assertEquals(steps, total, e.name());
                    done.add(step);
                }

                @Override
                public void onLatents(int step, NDArray x) {
                    assertEquals(latents[0]++, step, e.name());
                }
            });
            assertEquals(1, images.size());
            assertEquals(calls, latents[0], e.name() + ": model calls");
            List<Integer> expected = new ArrayList<>();
            for (int i = 1; i <= steps; i++) expected.add(i);
            assertEquals(expected, done, e.name() + ": steps");
            assertEquals(e.name(), pipe.schedulerName(e.name()), "the tiny model's PNDM config changes no name");
        }
        assertEquals("pndm", pipe.schedulerName(null), "the model's own");
    }

    @Test
    void everyPipelineCaseMatchesDiffusers() throws IOException {
        assertEveryPipelineCase(pipe);
    }

    /** Every pipeline case of the fixture drawn by {@code pipe} (any form of the fixture's weights). */
    static void assertEveryPipelineCase(StableDiffusionPipeline pipe) throws IOException {
        SafeTensors ref = Reference.tensors("pipeline");
        for (JsonNode c : Reference.cases("pipeline")) {
            String name = c.get("name").asText();
            GenerationRequest request = requestOf(c);
            List<float[]> perStep = new ArrayList<>();
            List<RenderedImage> images = pipe.generate(request, new ProgressListener() {
                @Override
                public void onStep(int step, int total) {
                }

                @Override
                public void onLatents(int step, NDArray latents) {
                    perStep.add(latents.toFloatArray());
                }
            });
            float[] expectedSteps = ref.floats(c.get("latents_per_step").asText());
            int per = expectedSteps.length / perStep.size();
            for (int s = 0; s < perStep.size(); s++) {
                Reference.assertClose(name + " latents after step " + s,
                        Arrays.copyOfRange(expectedSteps, s * per, (s + 1) * per), perStep.get(s), 1e-4);
            }
            Reference.assertClose(name + " final latents", ref.floats(c.get("final_latents").asText()),
                    perStep.get(perStep.size() - 1), 1e-4);

            byte[] expected = ref.byteArray(c.get("image_uint8").asText());
            assertEquals(request.batchSize(), images.size(), name);
            int size = request.width() * request.height() * 3;
            for (int i = 0; i < images.size(); i++) {
                byte[] got = images.get(i).rgb();
                assertPixelsWithinOne(name + " image " + i + " (uint8 tensor)", Arrays.copyOfRange(expected, i * size, (i + 1) * size), got);
                byte[] pngRgb = referencePng(c, i, request);
                assertPixelsWithinOne(name + " image " + i + " (PNG)", pngRgb, got);
            }
        }
    }

    /** Image {@code i} of the case's reference PNGs as RGB bytes, checked to have the request's size. */
    static byte[] referencePng(JsonNode c, int i, GenerationRequest request) throws IOException {
        String name = c.get("name").asText();
        BufferedImage png = ImageIO.read(Reference.tinyModel().resolve("reference/" + c.get("png").get(i).asText()).toFile());
        assertEquals(request.width(), png.getWidth(), name);
        assertEquals(request.height(), png.getHeight(), name);
        byte[] pngRgb = new byte[request.width() * request.height() * 3];
        for (int y = 0; y < png.getHeight(); y++) {
            for (int x = 0; x < png.getWidth(); x++) {
                int rgb = png.getRGB(x, y);
                int o = (y * png.getWidth() + x) * 3;
                pngRgb[o] = (byte) (rgb >> 16);
                pngRgb[o + 1] = (byte) (rgb >> 8);
                pngRgb[o + 2] = (byte) rgb;
            }
        }
        return pngRgb;
    }

    /**
     * A worker renders image i of a batch alone (its own UNet batch of 2): it gets image i's noise
     * (also the ancestral step noise) and so draws image i of the one-call batch. The UNet's
     * kernels are not bitwise batch-invariant, so "equal" is within one level, and rendering alone
     * is bitwise repeatable.
     */
    @Test
    void imageRenderedAloneEqualsItsSliceOfTheBatch() {
        JsonNode batch = Reference.cases("pipeline").stream()
                .filter(c -> c.get("name").asText().equals("batch3_one_generator")).findFirst().orElseThrow();
        GenerationRequest request = requestOf(batch);
        List<RenderedImage> all = pipe.generate(request, null);
        for (int i = 0; i < request.batchSize(); i++) {
            List<RenderedImage> one = pipe.generate(request, new int[]{i}, null);
            assertEquals(i, one.get(0).index());
            assertPixelsWithinOne("image " + i + " rendered alone", all.get(i).rgb(), one.get(0).rgb());
            assertArrayEquals(one.get(0).rgb(), pipe.generate(request, new int[]{i}, null).get(0).rgb(),
                    "image " + i + " rendered alone twice");
        }
        GenerationRequest ancestral = new GenerationRequest(List.of("a", "b"), "", 2, 3, 7.5, 31, 64, 64, "euler_a");
        List<RenderedImage> full = pipe.generate(ancestral, null);
        assertPixelsWithinOne("ancestral image 3 rendered alone", full.get(3).rgb(),
                pipe.generate(ancestral, new int[]{3}, null).get(0).rgb());
        // a different slice is a different image: the row really selects the noise
        assertFalse(Arrays.equals(full.get(2).rgb(), pipe.generate(ancestral, new int[]{3}, null).get(0).rgb()));
    }

    @Test
    void concurrentCallsDoNotDisturbEachOther() throws Exception {
        GenerationRequest a = new GenerationRequest(List.of("a red fox"), "", 1, 4, 7.5, 11, 64, 64, "euler_a");
        GenerationRequest b = new GenerationRequest(List.of("a blue bird"), "blurry", 1, 4, 5.0, 12, 64, 64, "dpmpp_2m");
        byte[] aloneA = pipe.generate(a, null).get(0).rgb();
        byte[] aloneB = pipe.generate(b, null).get(0).rgb();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 3; round++) {
                Future<byte[]> fa = pool.submit(() -> pipe.generate(a, null).get(0).rgb());
                Future<byte[]> fb = pool.submit(() -> pipe.generate(b, null).get(0).rgb());
                assertArrayEquals(aloneA, fa.get(), "job A, concurrent round " + round);
                assertArrayEquals(aloneB, fb.get(), "job B, concurrent round " + round);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    static void assertPixelsWithinOne(String what, byte[] expected, byte[] actual) {
        assertEquals(expected.length, actual.length, what + ": byte count");
        int worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            int d = Math.abs((expected[i] & 0xff) - (actual[i] & 0xff));
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        if (worst > 1) {
            fail(what + ": pixel byte " + at + " differs by " + worst + " levels (expected "
                    + (expected[at] & 0xff) + ", got " + (actual[at] & 0xff) + ")");
        }
    }
}
