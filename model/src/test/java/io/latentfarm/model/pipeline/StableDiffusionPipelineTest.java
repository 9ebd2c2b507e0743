package io.latentfarm.model.pipeline;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.latentfarm.common.SchedulerRegistry;
import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.common.spec.RenderSpec;
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

    /** The images of a case's diffusers call, as {@code latentfarm generate} resolves them. */
    static List<ImageSpec> imagesOf(JsonNode c) {
        JsonNode call = c.get("call");
        List<String> prompts = new ArrayList<>();
        if (call.get("prompt").isArray()) call.get("prompt").forEach(p -> prompts.add(p.asText()));
        else prompts.add(call.get("prompt").asText());
        return RenderSpec.builder().prompts(prompts).negativePrompt(call.path("negative_prompt").asText(""))
                .count(prompts.size() * call.get("num_images_per_prompt").asInt())
                .steps(call.get("num_inference_steps").asInt()).guidance(call.get("guidance_scale").asDouble())
                .seed(call.get("seed").asLong()).size(call.get("width").asInt(), call.get("height").asInt())
                .scheduler(schedulerKind(c.get("scheduler"))).build().images();
    }

    /** One image of a one-prompt call. */
    static ImageSpec image(String prompt, String negative, int steps, double guidance, long seed, int size,
                           String scheduler) {
        return new ImageSpec(prompt, negative, steps, guidance, size, size, scheduler, seed, 1, 0, null);
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
            List<RenderedImage> images = pipe.render(List.of(image("x", "", steps, 1.0, 1, 32, e.name())),
                    new ProgressListener() {
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
            List<ImageSpec> request = imagesOf(c);
            List<float[]> perStep = new ArrayList<>();
            List<RenderedImage> images = pipe.renderBatched(request, new ProgressListener() {
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
            assertEquals(request.size(), images.size(), name);
            int size = request.get(0).width() * request.get(0).height() * 3;
            for (int i = 0; i < images.size(); i++) {
                byte[] got = images.get(i).rgb();
                assertPixelsWithinOne(name + " image " + i + " (uint8 tensor)", Arrays.copyOfRange(expected, i * size, (i + 1) * size), got);
                byte[] pngRgb = referencePng(c, i, request.get(i));
                assertPixelsWithinOne(name + " image " + i + " (PNG)", pngRgb, got);
            }
        }
    }

    /** Image {@code i} of the case's reference PNGs as RGB bytes, checked to have the request's size. */
    static byte[] referencePng(JsonNode c, int i, ImageSpec request) throws IOException {
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
        List<ImageSpec> request = imagesOf(batch);
        List<RenderedImage> all = pipe.renderBatched(request, null);
        for (int i = 0; i < request.size(); i++) {
            List<RenderedImage> one = pipe.render(List.of(request.get(i)), null);
            assertEquals(0, one.get(0).index());
            assertPixelsWithinOne("image " + i + " rendered alone", all.get(i).rgb(), one.get(0).rgb());
            assertArrayEquals(one.get(0).rgb(), pipe.render(List.of(request.get(i)), null).get(0).rgb(),
                    "image " + i + " rendered alone twice");
        }
        List<ImageSpec> ancestral = RenderSpec.builder().prompts(List.of("a", "b")).count(4).steps(3).guidance(7.5)
                .seed(31L).size(64, 64).scheduler("euler_a").build().images();
        List<RenderedImage> full = pipe.renderBatched(ancestral, null);
        byte[] alone3 = pipe.render(List.of(ancestral.get(3)), null).get(0).rgb();
        assertPixelsWithinOne("ancestral image 3 rendered alone", full.get(3).rgb(), alone3);
        // a different slice is a different image: the row really selects the noise
        assertFalse(Arrays.equals(full.get(2).rgb(), alone3));
        // some slices of the draw in one denoising call, each with its own noise and sampler state
        List<RenderedImage> some = pipe.renderBatched(List.of(ancestral.get(3), ancestral.get(0)), null);
        assertPixelsWithinOne("ancestral images 3 and 0 in one call", full.get(3).rgb(), some.get(0).rgb());
        assertPixelsWithinOne("ancestral images 0 and 3 in one call", full.get(0).rgb(), some.get(1).rgb());
        assertEquals(1, some.get(1).index());
    }

    @Test
    void promptEncodingIsTimedOncePerCall() {
        List<Long> encoded = new ArrayList<>();
        pipe.render(List.of(image("a fox", "blurry", 1, 7.5, 1, 32, null), image("an owl", "", 1, 7.5, 2, 32, null)),
                new ProgressListener() {
                    @Override
                    public void onStep(int step, int total) {
                    }

                    @Override
                    public void onPromptsEncoded(long nanos) {
                        encoded.add(nanos);
                    }
                });
        assertEquals(1, encoded.size());
        assertTrue(encoded.get(0) > 0);
    }

    @Test
    void concurrentCallsDoNotDisturbEachOther() throws Exception {
        List<ImageSpec> a = List.of(image("a red fox", "", 4, 7.5, 11, 64, "euler_a"));
        List<ImageSpec> b = List.of(image("a blue bird", "blurry", 4, 5.0, 12, 64, "dpmpp_2m"));
        byte[] aloneA = pipe.render(a, null).get(0).rgb();
        byte[] aloneB = pipe.render(b, null).get(0).rgb();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 3; round++) {
                Future<byte[]> fa = pool.submit(() -> pipe.render(a, null).get(0).rgb());
                Future<byte[]> fb = pool.submit(() -> pipe.render(b, null).get(0).rgb());
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
