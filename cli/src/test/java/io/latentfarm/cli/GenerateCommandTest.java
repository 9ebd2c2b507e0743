package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.latentfarm.common.SchedulerRegistry;
import io.latentfarm.common.image.Grid;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.latentfarm.cli.CliTestSupport.run;
import static io.latentfarm.cli.CliTestSupport.tinyModel;
import static org.junit.jupiter.api.Assertions.*;

class GenerateCommandTest {

    /** The short name of a case's scheduler: the registry entry its resolved config is. */
    private static String kind(JsonNode scheduler) {
        Map<String, Object> config = new ObjectMapper().convertValue(scheduler.get("config"), Map.class);
        return SchedulerRegistry.nameFor(scheduler.get("class").asText(), config).orElseThrow().name();
    }

    /** `latentfarm generate` reproduces every pipeline case's PNG from the command line. */
    @Test
    void reproducesEveryReferencePng(@TempDir Path tmp) throws IOException {
        JsonNode cases = new ObjectMapper().readTree(tinyModel().resolve("reference/cases.json").toFile())
                .get("pipeline").get("cases");
        for (JsonNode c : cases) {
            String name = c.get("name").asText();
            JsonNode call = c.get("call");
            Path out = tmp.resolve(name);
            CliTestSupport.Run r = generateCase(c, out, "--model", tinyModel().toString());
            for (int i = 0; i < c.get("png").size(); i++) {
                RgbImage expected = Png.decode(Files.readAllBytes(tinyModel().resolve("reference/" + c.get("png").get(i).asText())));
                Path file = out.resolve(String.format("%04d.png", i));
                assertTrue(r.out().contains("wrote " + file), name + ": " + r.out());
                byte[] png = Files.readAllBytes(file);
                assertWithinOneLevel(name + " image " + i, expected, Png.decode(png));
                String params = Png.readParameters(png).orElseThrow();
                assertTrue(params.contains("Seed: " + call.get("seed").asText()), params);
                assertTrue(params.contains("Steps: " + call.get("num_inference_steps").asText()), params);
                assertTrue(params.endsWith("Device: cpu, Dtype: fp32"), params);
            }
        }
    }

    /** `--model x.safetensors` and `--model x.ckpt` (LDM single files, configs from --config) draw the reference. */
    @Test
    void singleFileCheckpointsDrawTheReference(@TempDir Path tmp) throws IOException {
        JsonNode c = new ObjectMapper().readTree(tinyModel().resolve("reference/cases.json").toFile())
                .get("pipeline").get("cases").get(0);
        RgbImage expected = Png.decode(Files.readAllBytes(tinyModel().resolve("reference/" + c.get("png").get(0).asText())));
        for (String file : List.of("tiny-sd-v1.safetensors", "tiny-sd-v1.ckpt")) {
            Path out = tmp.resolve(file);
            generateCase(c, out, "--model", CliTestSupport.fixtures().resolve("tiny-sd-v1-single-file/" + file).toString(),
                    "--config", tinyModel().toString());
            assertWithinOneLevel(file, expected, Png.decode(Files.readAllBytes(out.resolve("0000.png"))));
        }
    }

    /** `latentfarm generate` for one pipeline case with {@code modelArgs}, checked to exit 0. */
    static CliTestSupport.Run generateCase(JsonNode c, Path out, String... modelArgs) {
        JsonNode call = c.get("call");
        List<String> args = new ArrayList<>(List.of("generate"));
        args.addAll(List.of(modelArgs));
        if (call.get("prompt").isArray()) call.get("prompt").forEach(p -> args.addAll(List.of("--prompt", p.asText())));
        else args.addAll(List.of("--prompt", call.get("prompt").asText()));
        if (call.has("negative_prompt")) args.addAll(List.of("--negative-prompt", call.get("negative_prompt").asText()));
        args.addAll(List.of("--steps", call.get("num_inference_steps").asText(),
                "--guidance", call.get("guidance_scale").asText(), "--seed", call.get("seed").asText(),
                "--width", call.get("width").asText(), "--height", call.get("height").asText(),
                "--scheduler", kind(c.get("scheduler")), "--out", out.toString()));
        CliTestSupport.Run r = run(args.toArray(String[]::new));
        assertEquals(0, r.code(), c.get("name").asText() + ": " + r.err());
        return r;
    }

    /**
     * {@code --dtype bf16} draws a fixture case within the pipeline test's bf16 bounds (mean abs
     * diff 1.25 levels, PSNR 45 dB against the float32 reference PNG), and the PNG says so.
     */
    @Test
    void bf16DrawsTheFixtureCaseWithinItsBounds(@TempDir Path tmp) throws IOException {
        JsonNode c = new ObjectMapper().readTree(tinyModel().resolve("reference/cases.json").toFile())
                .get("pipeline").get("cases").get(0);
        JsonNode call = c.get("call");
        Path out = tmp.resolve("bf16");
        CliTestSupport.Run r = run("generate", "--model", tinyModel().toString(), "--prompt", call.get("prompt").asText(),
                "--steps", call.get("num_inference_steps").asText(), "--guidance", call.get("guidance_scale").asText(),
                "--seed", call.get("seed").asText(), "--width", call.get("width").asText(),
                "--height", call.get("height").asText(), "--scheduler", kind(c.get("scheduler")),
                "--dtype", "bf16", "--device", "cpu", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        byte[] png = Files.readAllBytes(out.resolve("0000.png"));
        RgbImage expected = Png.decode(Files.readAllBytes(tinyModel().resolve("reference/" + c.get("png").get(0).asText())));
        byte[] a = expected.pixels();
        byte[] b = Png.decode(png).pixels();
        long abs = 0;
        double sq = 0;
        for (int i = 0; i < a.length; i++) {
            int d = (a[i] & 0xff) - (b[i] & 0xff);
            abs += Math.abs(d);
            sq += d * d;
        }
        double meanAbs = (double) abs / a.length;
        double psnr = 10 * Math.log10(255.0 * 255.0 / Math.max(sq / a.length, 1e-12));
        System.out.printf("generate --dtype bf16 %s: mean abs diff %.3f levels, PSNR %.1f dB%n", c.get("name").asText(), meanAbs, psnr);
        assertTrue(meanAbs <= 1.25 && psnr >= 45, "mean abs diff " + meanAbs + ", PSNR " + psnr);
        assertTrue(Png.readParameters(png).orElseThrow().endsWith("Device: cpu, Dtype: bf16"));
    }

    @Test
    void writesTheGridRowByRowAndPrintsARandomSeed(@TempDir Path tmp) throws IOException {
        CliTestSupport.Run r = run("generate", "--model", tinyModel().toString(), "--prompt", "a", "--prompt", "b",
                "--images-per-prompt", "3", "--steps", "2", "--width", "64", "--height", "64",
                "--rows", "2", "--cols", "3", "--out", tmp.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s)seed: \\d+\n.*"), r.out());
        List<RgbImage> images = new ArrayList<>();
        for (int i = 0; i < 6; i++) images.add(Png.decode(Files.readAllBytes(tmp.resolve(String.format("%04d.png", i)))));
        assertEquals(Grid.compose(images, 2, 3), Png.decode(Files.readAllBytes(tmp.resolve("grid.png"))));
        assertTrue(Png.readParameters(Files.readAllBytes(tmp.resolve("0003.png"))).orElseThrow().startsWith("b\n"),
                "image 3 is the second prompt's first image");
    }

    @Test
    void badInputGetsAClearError(@TempDir Path tmp) {
        String model = tinyModel().toString();
        assertError("width: 60 is not a multiple of 8",
                run("generate", "--model", model, "--prompt", "x", "--width", "60", "--out", tmp.toString()));
        assertError("steps: 0 is outside 1..1000",
                run("generate", "--model", model, "--prompt", "x", "--steps", "0", "--out", tmp.toString()));
        assertError("scheduler: \"PNDM\" is not one of " + String.join(", ", SchedulerRegistry.names()),
                run("generate", "--model", model, "--prompt", "x", "--scheduler", "PNDM", "--out", tmp.toString()));
        assertError("--model: " + tmp.resolve("absent") + " is not a folder",
                run("generate", "--model", tmp.resolve("absent").toString(), "--prompt", "x", "--out", tmp.toString()));
        assertError("count: 1 does not match rows x cols = 2 x 2 = 4",
                run("generate", "--model", model, "--prompt", "x", "--rows", "2", "--cols", "2", "--out", tmp.toString()));
        assertError("--dtype: 'int8' is not one of auto, auto-bf16, fp32, fp16, bf16",
                run("generate", "--model", model, "--prompt", "x", "--dtype", "int8", "--out", tmp.toString()));
        assertError("--device: 'tpu' is not one of auto, cpu, cuda, cuda:N",
                run("generate", "--model", model, "--prompt", "x", "--device", "tpu", "--out", tmp.toString()));
    }

    /**
     * Samplers picked by name run from the command line, and the PNG names them by their A1111
     * label (every sampler renders in StableDiffusionPipelineTest, with the model loaded once).
     */
    @Test
    void samplersByNameRunAndThePngNamesThem(@TempDir Path tmp) throws IOException {
        for (String name : List.of("dpmpp_2m_karras", "heun", "dpm2_a_karras")) {
            SchedulerRegistry.Entry e = SchedulerRegistry.byName(name).orElseThrow();
            Path out = tmp.resolve(e.name());
            CliTestSupport.Run r = run("generate", "--model", tinyModel().toString(), "--prompt", "x", "--steps", "4",
                    "--guidance", "1", "--width", "32", "--height", "32", "--seed", "1", "--scheduler", e.name(), "--out", out.toString());
            assertEquals(0, r.code(), e.name() + ": " + r.err());
            String params = Png.readParameters(Files.readAllBytes(out.resolve("0000.png"))).orElseThrow();
            assertTrue(params.contains("Steps: 4, Sampler: " + e.label() + ","), e.name() + ": " + params);
        }
    }

    @Test
    void helpListsEverySamplerWithItsLabel() {
        CliTestSupport.Run r = run("generate", "--help");
        String help = (r.out() + r.err()).replaceAll("\\s+", " ");
        for (SchedulerRegistry.Entry e : SchedulerRegistry.all()) {
            assertTrue(help.contains(e.name() + " (" + e.label() + ")"), e.name() + " in: " + help);
        }
    }

    /**
     * A folder whose scheduler is DPM++ 2M with Karras sigmas loads and runs it by default; another
     * sampler on it keeps the options its class accepts (Euler takes the Karras sigmas too, as
     * diffusers' from_config does) and the PNG names what ran; an option no sampler implements is refused at load, by file and key.
     */
    @Test
    void folderSchedulersWithOptions(@TempDir Path tmp) throws IOException {
        Path karras = folderWithScheduler(tmp.resolve("karras"), "{\"_class_name\": \"DPMSolverMultistepScheduler\","
                + " \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012,"
                + " \"steps_offset\": 1, \"algorithm_type\": \"dpmsolver++\", \"use_karras_sigmas\": true,"
                + " \"timestep_spacing\": \"leading\", \"final_sigmas_type\": \"zero\", \"lower_order_final\": true}");
        for (String[] c : new String[][] {{null, "DPM++ 2M Karras"}, {"euler", "Euler Karras"}, {"pndm", "PLMS"}}) {
            // pndm on a folder without skip_prk_steps gets PNDM's default (false): the PLMS warm-up
            Path out = tmp.resolve("out-" + c[0]);
            List<String> args = new ArrayList<>(List.of("generate", "--model", karras.toString(), "--prompt", "x",
                    "--steps", "4", "--guidance", "1", "--width", "32", "--height", "32", "--seed", "1", "--out", out.toString()));
            if (c[0] != null) args.addAll(List.of("--scheduler", c[0]));
            CliTestSupport.Run r = run(args.toArray(String[]::new));
            assertEquals(0, r.code(), r.err());
            String params = Png.readParameters(Files.readAllBytes(out.resolve("0000.png"))).orElseThrow();
            assertTrue(params.contains("Sampler: " + c[1] + ","), c[0] + ": " + params);
        }
        Path beta = folderWithScheduler(tmp.resolve("beta"), "{\"_class_name\": \"EulerDiscreteScheduler\","
                + " \"use_beta_sigmas\": true}");
        assertError(beta.resolve("scheduler/scheduler_config.json") + ": EulerDiscreteScheduler: use_beta_sigmas is not supported",
                run("generate", "--model", beta.toString(), "--prompt", "x", "--out", tmp.resolve("o").toString()));
    }

    /** The tiny model's components (linked) with {@code schedulerConfig} as its scheduler. */
    private static Path folderWithScheduler(Path dir, String schedulerConfig) throws IOException {
        Files.createDirectories(dir.resolve("scheduler"));
        try (var files = Files.list(tinyModel())) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                if (!name.equals("scheduler") && !name.equals("reference")) Files.createSymbolicLink(dir.resolve(name), p.toAbsolutePath());
            }
        }
        Files.writeString(dir.resolve("scheduler/scheduler_config.json"), schedulerConfig);
        return dir;
    }

    private static void assertError(String expected, CliTestSupport.Run r) {
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains(expected), "expected '" + expected + "' in: " + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    static void assertWithinOneLevel(String what, RgbImage expected, RgbImage actual) {
        assertEquals(expected.width(), actual.width(), what);
        assertEquals(expected.height(), actual.height(), what);
        for (int i = 0; i < expected.pixels().length; i++) {
            int d = Math.abs((expected.pixels()[i] & 0xff) - (actual.pixels()[i] & 0xff));
            assertTrue(d <= 1, what + ": byte " + i + " differs by " + d + " levels");
        }
    }
}
