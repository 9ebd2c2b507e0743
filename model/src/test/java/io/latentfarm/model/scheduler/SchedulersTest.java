package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.common.SchedulerRegistry;
import io.latentfarm.model.files.Configs;
import io.latentfarm.model.files.SafeTensors;
import io.latentfarm.model.random.TorchGenerator;
import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SchedulersTest {
    private static final double TOL = 1e-5;
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode folderConfig() throws IOException {
        return JSON.readTree(Reference.tinyModel().resolve("scheduler/scheduler_config.json").toFile());
    }

    /** The per-class overrides of cases.json's "construction" line (JSON after "overrides: "). */
    private static JsonNode constructionOverrides() throws IOException {
        String construction = Reference.cases().get("schedulers").get("construction").asText();
        return JSON.readTree(construction.substring(construction.indexOf("overrides:") + "overrides:".length()).trim());
    }

    private static float[] row(float[] all, int rows, int i) {
        int per = all.length / rows;
        return Arrays.copyOfRange(all, i * per, (i + 1) * per);
    }

    private static long seedOf(JsonNode stepKwargs) {
        JsonNode g = stepKwargs.get("generator");
        return g == null ? -1 : Long.parseLong(g.asText().replaceAll(".*manual_seed\\((\\d+)\\).*", "$1"));
    }

    /**
     * Every scheduler case of the main fixture: construction from the fixture's folder config (+
     * overrides), then {@link #assertCaseMatches}.
     */
    @Test
    void everyCaseMatchesDiffusers() throws IOException {
        SafeTensors t = Reference.tensors("schedulers");
        JsonNode overrides = constructionOverrides();
        JsonNode folder = folderConfig();
        List<JsonNode> cases = Reference.cases("schedulers");
        assertEquals(18, cases.size());
        Worst worst = new Worst();
        for (JsonNode c : cases) {
            String cls = c.get("class").asText();
            Map<String, Object> ov = overrides.has(cls) ? JSON.convertValue(overrides.get(cls), Map.class) : Map.of();
            try (Scheduler s = SchedulerFactory.createFromClassName(cls, folder, ov)) {
                assertCaseMatches(t, c, s, worst);
            }
        }
        System.out.printf("schedulers: worst relative error %.3g (%s)%n", worst.rel, worst.where);
    }

    /**
     * Every case of fixtures/schedulers-more (diffusers' trajectories for the other samplers): the
     * registry's entry for the case's short name is the case's class and overrides, and the sampler
     * built by that name from SD v1-4's scheduler config follows the trajectory.
     */
    @Test
    void everyMoreSamplerMatchesDiffusers() throws IOException {
        Path dir = Reference.fixtures().resolve("schedulers-more");
        JsonNode section = JSON.readTree(dir.resolve("cases.json").toFile()).get("schedulers");
        JsonNode v14 = JSON.readTree(Reference.sdV14Configs().resolve("scheduler/scheduler_config.json").toFile());
        Worst worst = new Worst();
        int count = 0;
        try (SafeTensors t = SafeTensors.open(dir.resolve(section.get("file").asText()))) {
            for (JsonNode c : section.get("cases")) {
                String name = c.get("cli_name").asText();
                SchedulerRegistry.Entry e = SchedulerRegistry.byName(name).orElseThrow(() -> new AssertionError(name));
                assertEquals(c.get("class").asText(), e.className(), name + ": class");
                assertEquals(JSON.convertValue(c.get("overrides"), Map.class), e.overrides(), name + ": overrides");
                try (Scheduler s = SchedulerFactory.create(name, v14)) {
                    assertEquals(name, SchedulerFactory.nameOf(s), "the registry names what it built");
                    assertCaseMatches(t, c, s, worst);
                }
                count++;
            }
        }
        assertEquals(45, count);
        System.out.printf("more samplers: worst relative error %.3g (%s)%n", worst.rel, worst.where);
    }

    private static final class Worst {
        double rel;
        String where = "";

        void add(Reference.Diff d, String at) {
            if (d.maxAbs() / d.scale() > rel) {
                rel = d.maxAbs() / d.scale();
                where = at;
            }
        }
    }

    /**
     * One case: the resolved config against the case's, betas, timesteps, init_noise_sigma, order,
     * sigmas, then the loop with the stored model outputs (noise drawn inside step() comes from a
     * generator seeded as the case's step_kwargs say). Each step runs in its own NDManager that is
     * closed afterwards, as a pipeline does, so state kept between steps must live in the scheduler.
     */
    private static void assertCaseMatches(SafeTensors t, JsonNode c, Scheduler s, Worst worst) {
        String name = c.get("name").asText();
        assertResolvedConfigMatches(name, c.get("config"), s.config());
        BaseScheduler base = (BaseScheduler) s;
        assertArrayEquals(t.floats("schedulers/betas"), base.betas(), name + ": betas");
        assertArrayEquals(t.floats("schedulers/alphas_cumprod"), base.alphasCumprod(), name + ": alphas_cumprod");

        s.setTimesteps(c.get("num_inference_steps").asInt());
        double[] ts = s.timesteps();
        assertEquals(c.get("num_timesteps").asInt(), ts.length, name + ": number of timesteps");
        double[] expectedList = new double[ts.length];
        for (int i = 0; i < ts.length; i++) expectedList[i] = c.get("timesteps_list").get(i).asDouble();
        assertTimesteps(name + ": timesteps_list", expectedList, ts);
        SafeTensors.Entry te = t.entry(c.get("timesteps").asText());
        if (te.dtype() != null) { // F64 timesteps (Karras LMS, DPM2) are checked through timesteps_list
            double[] tensorTs = te.dtype().name().startsWith("I")
                    ? Arrays.stream(t.longs(te.name())).asDoubleStream().toArray()
                    : toDoubles(t.floats(te.name()));
            assertTimesteps(name + ": timesteps tensor", tensorTs, ts);
        }
        assertEquals(c.get("init_noise_sigma").asDouble(), s.initNoiseSigma(), 1e-6 * s.initNoiseSigma(),
                name + ": init_noise_sigma");
        assertEquals(c.get("order").asInt(), s.order(), name + ": order");
        if (c.has("sigmas")) {
            float[] expected = t.floats(c.get("sigmas").asText());
            float[] got = sigmasOf(s);
            for (int i = 0; i < expected.length; i++) {
                if (Float.isNaN(expected[i])) {
                    assertTrue(Float.isNaN(got[i]), name + ": sigma " + i + " is NaN in diffusers");
                    got[i] = expected[i] = 0;
                }
            }
            Reference.assertClose(name + ": sigmas", expected, got, 1e-6);
        }
        JsonNode eta = c.get("step_kwargs").get("eta");
        if (eta != null) s.setEta(eta.asDouble());
        long seed = seedOf(c.get("step_kwargs"));
        TorchGenerator generator = seed >= 0 ? new TorchGenerator(seed) : null;

        SafeTensors.Entry init = t.entry(c.get("initial_sample").asText());
        Shape shape = new Shape(init.shape());
        float[] sample = t.floats(init.name());
        float[] scaledAll = t.floats(c.get("scaled_model_inputs").asText());
        float[] outputsAll = t.floats(c.get("model_outputs").asText());
        float[] prevAll = t.floats(c.get("prev_samples").asText());
        try (NDManager root = NDManager.newBaseManager()) {
            for (int i = 0; i < ts.length; i++) {
                try (NDManager stepManager = root.newSubManager()) {
                    NDArray x = stepManager.create(sample, shape);
                    NDArray scaled = s.scaleModelInput(x, i);
                    worst.add(Reference.assertClose(name + " step " + i + " scaled_model_input",
                            row(scaledAll, ts.length, i), scaled.toFloatArray(), TOL), name + " step " + i);
                    NDArray modelOutput = stepManager.create(row(outputsAll, ts.length, i), shape);
                    NDArray prev = s.step(modelOutput, i, x, generator);
                    assertSame(stepManager, prev.getManager(), name + ": result belongs to the sample's manager");
                    assertSame(stepManager, x.getManager(), name + ": inputs go back to their manager");
                    sample = prev.toFloatArray();
                    worst.add(Reference.assertClose(name + " step " + i + " prev_sample",
                            row(prevAll, ts.length, i), sample, TOL), name + " step " + i);
                }
            }
        }
    }

    /** Timesteps within 1e-5 relative: Karras and DPM2 timesteps come from logs numpy and Java may round apart. */
    private static void assertTimesteps(String what, double[] expected, double[] got) {
        assertEquals(expected.length, got.length, what + ": count");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], got[i], 1e-5 * Math.max(1, Math.abs(expected[i])), what + " [" + i + "]");
        }
    }

    private static float[] sigmasOf(Scheduler s) {
        if (s instanceof SigmaScheduler x) return x.sigmas();
        if (s instanceof DpmSolverMultistepScheduler x) return x.sigmas();
        if (s instanceof UniPcMultistepScheduler x) return x.sigmas();
        if (s instanceof DeisMultistepScheduler x) return x.sigmas();
        throw new AssertionError(s.config().className() + " has no sigmas");
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    /** Every key the class resolved has the value diffusers reported in the case's config. */
    private static void assertResolvedConfigMatches(String name, JsonNode expected, SchedulerConfig got) {
        for (Iterator<String> it = got.values().fieldNames(); it.hasNext(); ) {
            String key = it.next();
            JsonNode e = expected.get(key);
            JsonNode g = got.values().get(key);
            assertNotNull(e, name + ": diffusers' config lacks " + key);
            if (e.isNull() || g.isNull()) {
                assertEquals(e.isNull(), g.isNull(), name + ": config " + key);
            } else if (e.isNumber() || e.isTextual() && g.isNumber()) {
                assertEquals(Configs.getDouble(expected, key, 0), Configs.getDouble(got.values(), key, 0), name + ": config " + key);
            } else {
                assertEquals(e, g, name + ": config " + key);
            }
        }
    }

    /** Euler ancestral with the noise diffusers recorded injected instead of drawn. */
    @Test
    void eulerAncestralWithRecordedNoise() throws IOException {
        SafeTensors t = Reference.tensors("schedulers");
        JsonNode c = Reference.cases("schedulers").stream().filter(x -> x.has("step_noise")).findFirst().orElseThrow();
        try (EulerAncestralDiscreteScheduler s = EulerAncestralDiscreteScheduler.fromConfig(folderConfig(), Map.of());
             NDManager m = NDManager.newBaseManager()) {
            s.setTimesteps(c.get("num_inference_steps").asInt());
            int steps = s.numSteps();
            SafeTensors.Entry init = t.entry(c.get("initial_sample").asText());
            Shape shape = new Shape(init.shape());
            NDArray x = m.create(t.floats(init.name()), shape);
            float[] noise = t.floats(c.get("step_noise").asText());
            float[] outputs = t.floats(c.get("model_outputs").asText());
            float[] prevs = t.floats(c.get("prev_samples").asText());
            for (int i = 0; i < steps; i++) {
                int step = i;
                x = s.step(m.create(row(outputs, steps, i), shape), i, x, sh -> row(noise, steps, step));
                Reference.assertClose(c.get("name").asText() + " (recorded noise) step " + i, row(prevs, steps, i),
                        x.toFloatArray(), TOL);
            }
        }
    }

    @Test
    void ddimFromThePndmFolderKeepsBetasAndStepsOffset() throws IOException {
        JsonNode v14 = JSON.readTree(Reference.sdV14Configs().resolve("scheduler/scheduler_config.json").toFile());
        try (Scheduler ddim = SchedulerFactory.create("ddim", v14)) {
            SchedulerConfig c = ddim.config();
            assertEquals("DDIMScheduler", c.className());
            assertEquals("scaled_linear", c.getString("beta_schedule"));
            assertEquals(0.00085, c.getDouble("beta_start"));
            assertEquals(0.012, c.getDouble("beta_end"));
            assertEquals(1, c.getInt("steps_offset"));
            assertFalse(c.getBool("set_alpha_to_one"));
            assertFalse(c.getBool("clip_sample"));
            assertEquals("leading", c.getString("timestep_spacing"));
            assertFalse(c.values().has("skip_prk_steps"), "keys DDIM does not accept are dropped");
            ddim.setTimesteps(5);
            assertArrayEquals(new double[] {801, 601, 401, 201, 1}, ddim.timesteps());
            assertArrayEquals(Reference.tensors("schedulers").floats("schedulers/betas"), ((BaseScheduler) ddim).betas());
        }
        // class defaults for keys the folder lacks
        try (Scheduler euler = SchedulerFactory.create("euler", v14); Scheduler dpm = SchedulerFactory.create("dpmpp_2m", v14)) {
            assertEquals("linspace", euler.config().getString("timestep_spacing"));
            assertEquals("dpmsolver++", dpm.config().getString("algorithm_type"));
            assertEquals(2, dpm.config().getInt("solver_order"));
            assertTrue(dpm.config().getBool("lower_order_final"));
        }
    }

    @Test
    void useDefaultValuesAndClassName() throws IOException {
        ObjectNode cfg = (ObjectNode) folderConfig().deepCopy();
        cfg.put("timestep_spacing", "leading");
        cfg.putArray("_use_default_values").add("timestep_spacing");
        try (Scheduler euler = SchedulerFactory.create("euler", cfg)) {
            assertEquals("linspace", euler.config().getString("timestep_spacing"));
        }
        try (Scheduler fromName = SchedulerFactory.createFromClassName(folderConfig())) {
            assertInstanceOf(PndmScheduler.class, fromName);
        }
        String unknown = assertThrows(IllegalArgumentException.class, () -> SchedulerFactory.create("nope", cfg)).getMessage();
        for (String k : SchedulerRegistry.names()) assertTrue(unknown.contains(k), unknown);
        assertThrows(IllegalArgumentException.class, () -> SchedulerFactory.createFromClassName("LCMScheduler", cfg, Map.of()));
        ObjectNode beta = cfg.deepCopy();
        beta.put("use_beta_sigmas", true);
        String msg = assertThrows(UnsupportedOperationException.class, () -> SchedulerFactory.create("dpmpp_2m", beta)).getMessage();
        assertTrue(msg.contains("use_beta_sigmas"), msg);
    }

    /** Other spacings and schedules build and step (no reference: consistency checks only). */
    @Test
    void otherSchedulesAndPrkSteps() throws IOException {
        for (String schedule : List.of("linear", "scaled_linear", "squaredcos_cap_v2")) {
            for (String spacing : List.of("linspace", "leading", "trailing")) {
                ObjectNode cfg = (ObjectNode) folderConfig().deepCopy();
                cfg.put("beta_schedule", schedule);
                cfg.put("timestep_spacing", spacing);
                for (String kind : SchedulerRegistry.names()) {
                    try (Scheduler s = SchedulerFactory.create(kind, cfg)) {
                        s.setTimesteps(10);
                        double[] ts = s.timesteps();
                        // DPM2 a (Karras) evaluates a rounded timestep just after a midpoint one: up to 0.5 apart;
                        // with trailing spacing its first sigma_down is sqrt of a float32 rounding below 0 (NaN),
                        // in diffusers too
                        for (int i = 1; i < ts.length; i++) {
                            if ((Double.isNaN(ts[i]) || Double.isNaN(ts[i - 1])) && kind.startsWith("dpm2_a")) continue;
                            assertTrue(ts[i] <= ts[i - 1] + 1, kind + " " + spacing + ": descending " + Arrays.toString(ts));
                        }
                        assertTrue(ts[0] < 1000 && ts[ts.length - 1] >= 0, kind + " " + spacing + Arrays.toString(ts));
                    }
                }
            }
        }
        // PNDM with its Runge-Kutta warm-up: 12 PRK steps then PLMS
        ObjectNode prk = (ObjectNode) folderConfig().deepCopy();
        prk.put("skip_prk_steps", false);
        try (Scheduler s = SchedulerFactory.create("pndm", prk); NDManager m = NDManager.newBaseManager()) {
            s.setTimesteps(10);
            double[] ts = s.timesteps();
            assertEquals(12 + 7, ts.length);
            TorchGenerator g = new TorchGenerator(0);
            NDArray x = g.randn(m, new Shape(1, 4, 3, 4));
            for (int i = 0; i < ts.length; i++) {
                NDArray out = g.randn(m, new Shape(1, 4, 3, 4)).mul(0.1f);
                x = s.step(out, i, x, null);
            }
            for (float v : x.toFloatArray()) assertTrue(Float.isFinite(v));
        }
    }
}
