package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.model.files.ModelException;
import io.latentfarm.model.files.ModelFolder;
import io.latentfarm.model.files.SafeTensorDType;
import io.latentfarm.model.files.SafeTensors;
import io.latentfarm.model.files.TensorFile;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class UNetTest {
    private static final double TOL = 1e-4;

    @Test
    void everyUnetCaseMatchesDiffusersIntermediatesFirst() {
        runCases(DataType.FLOAT32, TOL);
    }

    /**
     * bf16 (convolutions, linear layers and attention in bf16, the rest in float32) against
     * diffusers' float32 outputs. Measured worst error: 1.4e-2 of the tensor's scale (noise_pred of
     * batch2_nonsquare; mid_block 1.2e-2); the timestep embedding stays float32 (~1e-6).
     */
    @Test
    void everyUnetCaseInBf16() {
        runCases(DataType.BFLOAT16, BF16_TOL);
    }

    /** Every layer in fp16 on fp16 weights, as a GPU runs it. Measured worst error: 2.3e-3 of scale (mid_block). */
    @Test
    void everyUnetCaseInFp16() {
        runCases(DataType.FLOAT16, FP16_TOL);
    }

    /** max |error| / max(1, max |expected|) each reduced-precision check allows: about 2x what was measured */
    static final double BF16_TOL = 3e-2;
    static final double FP16_TOL = 5e-3;

    private static void runCases(DataType dtype, double tol) {
        ModelFolder folder = ModelFolder.open(Reference.tinyModel());
        UNetConfig cfg = UNetConfig.fromJson(folder.config("unet"));
        SafeTensors ref = Reference.tensors("unet");
        List<TensorFile> files = folder.weights("unet", null);
        List<String> report = new ArrayList<>();
        DataType io = dtype == DataType.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT32;
        try (NDManager weights = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = new UNet2DConditionModel(cfg, new Weights(files, weights, dtype));
            int weightCount = weights.getManagedArrays().size();
            for (JsonNode c : Reference.cases("unet")) {
                String name = c.get("name").asText() + " " + dtype;
                try (NDManager m = weights.newSubManager()) {
                    NDArray sample = floats(m, ref, c.get("sample").asText(), io);
                    NDArray ehs = floats(m, ref, c.get("encoder_hidden_states").asText(), io);
                    NDArray t = timestep(m, ref, c);
                    Map<String, float[]> seen = new HashMap<>();
                    NDArray out = unet.forward(sample, t, ehs, (k, v) -> seen.put(k, Reference.toFloats(v)));
                    List<NDArray> left = m.getManagedArrays().stream()
                            .filter(a -> a != sample && a != t && a != ehs && a != out).toList();
                    assertEquals(List.of(), left.stream().map(a -> a.getShape().toString()).toList(),
                            name + ": forward left temporaries open");
                    assertTrue(left.size() < m.getManagedArrays().size() && m.getManagedArrays().stream().anyMatch(a -> a == out));
                    assertEquals(io, out.getDataType(), name + ": output dtype");
                    // Intermediates first, in forward order, so a failure says where it starts.
                    for (String key : List.of("time_proj", "time_embedding", "conv_in", "mid_block")) {
                        String refName = c.get("intermediates").get(key).asText();
                        assertTrue(seen.containsKey(key), name + ": no " + key + " intermediate");
                        Reference.Diff d = Reference.assertClose(name + " " + key, ref.floats(refName), seen.get(key), tol);
                        report.add(String.format("%s %s %.2g (%.2g of scale)", name, key, d.maxAbs(), d.maxAbs() / d.scale()));
                    }
                    String predName = c.get("noise_pred").asText();
                    assertEquals(new Shape(ref.entry(predName).shape()), out.getShape(), name + ": noise_pred shape");
                    Reference.Diff d = Reference.assertClose(name + " noise_pred", ref.floats(predName), Reference.toFloats(out), tol);
                    report.add(String.format("%s noise_pred %.2g (scale %.3g, %.2g of scale)", name, d.maxAbs(), d.scale(),
                            d.maxAbs() / d.scale()));
                }
                assertEquals(weightCount, weights.getManagedArrays().size(), name + ": forward created arrays in the weights' manager");
            }
        } finally {
            files.forEach(TensorFile::close);
        }
        System.out.println("UNetTest " + dtype + " worst abs errors:\n  " + String.join("\n  ", report));
    }

    /** The case's timestep as the caller passes it: 0-d for "broadcast" cases, int64 or float32. */
    private static NDArray timestep(NDManager m, SafeTensors ref, JsonNode c) {
        String name = c.get("timestep").asText();
        boolean scalar = !c.get("timestep_value").isArray();
        if (ref.entry(name).dtype() == SafeTensorDType.I64) {
            long[] v = ref.longs(name);
            return scalar ? m.create(v[0]) : m.create(v);
        }
        float[] v = ref.floats(name);
        return scalar ? m.create(v[0]) : m.create(v);
    }

    private static NDArray floats(NDManager m, SafeTensors ref, String name, DataType dtype) {
        NDArray a = m.create(ref.floats(name), new Shape(ref.entry(name).shape()));
        if (dtype == DataType.FLOAT32) return a;
        NDArray cast = a.toType(dtype, false);
        a.close();
        return cast;
    }

    @Test
    void sdV14ConfigLoadsWithV1Semantics() {
        UNetConfig cfg = UNetConfig.fromJson(ModelFolder.open(Reference.sdV14Configs()).config("unet"));
        assertArrayEquals(new int[]{320, 640, 1280, 1280}, cfg.blockOutChannels());
        assertArrayEquals(new int[]{8, 8, 8, 8}, cfg.attentionHeads(), "attention_head_dim 8 = eight heads per block");
        assertArrayEquals(new int[]{768, 768, 768, 768}, cfg.crossAttentionDim());
        assertArrayEquals(new int[]{2, 2, 2, 2}, cfg.layersPerBlock());
        assertArrayEquals(new int[]{1, 1, 1, 1}, cfg.transformerLayersPerBlock());
        assertEquals(32, cfg.normNumGroups());
        assertEquals(1e-5, cfg.normEps());
        assertEquals(1280, cfg.timeEmbeddingDim());
        assertFalse(cfg.useLinearProjection());
        assertFalse(cfg.upcastAttention());
        assertTrue(cfg.flipSinToCos());
        assertEquals(0, cfg.freqShift());
        assertEquals(1, cfg.downsamplePadding());
        assertEquals(List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                cfg.downBlockTypes());
        assertEquals(List.of("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                cfg.upBlockTypes());
        assertArrayEquals(new boolean[4], cfg.onlyCrossAttention());
    }

    @Test
    void unsupportedOptionsAreRejectedByName() throws Exception {
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        JsonNode sdxl = json.readTree("{\"addition_embed_type\": \"text_time\"}");
        assertTrue(assertThrows(ModelException.class, () -> UNetConfig.fromJson(sdxl)).getMessage()
                .contains("addition_embed_type"));
        JsonNode v2 = json.readTree("{\"attention_head_dim\": [5, 10, 20, 20], \"use_linear_projection\": true}");
        UNetConfig cfg = UNetConfig.fromJson(v2);
        assertArrayEquals(new int[]{5, 10, 20, 20}, cfg.attentionHeads());
        assertTrue(cfg.useLinearProjection());
        JsonNode bad = json.readTree("{\"attention_head_dim\": [8, 8]}");
        assertTrue(assertThrows(ModelException.class, () -> UNetConfig.fromJson(bad)).getMessage()
                .contains("attention_head_dim"));
    }

    /**
     * The other projection setting and per-block heads run too: the fixture's architecture with
     * linear proj_in/proj_out and a head count per block, on random weights.
     */
    @Test
    void linearProjectionAndPerBlockHeadsRun() throws Exception {
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var node = (com.fasterxml.jackson.databind.node.ObjectNode) ModelFolder.open(Reference.tinyModel()).config("unet");
        node.put("use_linear_projection", true);
        node.set("attention_head_dim", json.readTree("[2, 4, 4, 8]"));
        UNetConfig cfg = UNetConfig.fromJson(node);
        io.latentfarm.model.files.RandomWeights random = new io.latentfarm.model.files.RandomWeights(true);
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = new UNet2DConditionModel(cfg, new Weights(random, m, DataType.FLOAT32));
            assertArrayEquals(new long[]{32, 32}, random.recorded().get("down_blocks.0.attentions.0.proj_in.weight"),
                    "a linear proj_in is [out, in]");
            NDArray out = unet.forward(m.randomNormal(new Shape(2, 4, 8, 16)), m.create(new float[]{999f, 1f}),
                    m.randomNormal(new Shape(2, 77, cfg.crossAttentionDim()[0])));
            assertEquals(new Shape(2, 4, 8, 16), out.getShape());
            for (float v : out.toFloatArray()) assertTrue(Float.isFinite(v));
        }
    }
}
