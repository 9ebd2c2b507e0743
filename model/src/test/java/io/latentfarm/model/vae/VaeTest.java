package io.latentfarm.model.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.files.ModelFolder;
import io.latentfarm.model.files.SafeTensors;
import io.latentfarm.model.files.TensorFile;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.*;

class VaeTest {
    private static final double TOL = 1e-4;

    @Test
    void everyVaeCaseMatchesDiffusers() {
        runCases(DataType.FLOAT32, TOL);
    }

    /**
     * bf16 convolutions, linear layers and attention, float32 norms, against diffusers' float32
     * outputs. Measured worst error: 3.4e-2 of the tensor's scale (decode_raw decoded: the last
     * convolutions see the largest activations), 1.7e-2 on the pipeline's [0, 1] image.
     */
    @Test
    void everyVaeCaseInBf16() {
        runCases(DataType.BFLOAT16, BF16_TOL);
    }

    /** Every layer in fp16 on fp16 weights (the VAE without force_upcast). Measured worst error: 5.4e-3 of scale. */
    @Test
    void everyVaeCaseInFp16() {
        runCases(DataType.FLOAT16, FP16_TOL);
    }

    /** max |error| / max(1, max |expected|) each reduced-precision check allows: about 2x what was measured */
    static final double BF16_TOL = 6e-2;
    static final double FP16_TOL = 1e-2;

    private static void runCases(DataType dtype, double tol) {
        DataType io = dtype == DataType.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT32;
        ModelFolder folder = ModelFolder.open(Reference.tinyModel());
        VaeConfig cfg = VaeConfig.fromJson(folder.config("vae"));
        SafeTensors ref = Reference.tensors("vae");
        List<TensorFile> files = folder.weights("vae", null);
        List<String> report = new ArrayList<>();
        try (NDManager weights = NDManager.newBaseManager()) {
            AutoencoderKL vae = new AutoencoderKL(cfg, new Weights(files, weights, dtype));
            for (JsonNode c : Reference.cases("vae")) {
                String name = c.get("name").asText();
                String label = name + " " + dtype;
                try (NDManager m = weights.newSubManager()) {
                    switch (name) {
                        case "decode_raw" -> {
                            NDArray z = floats(m, ref, c.get("z").asText(), io);
                            Map<String, float[]> seen = new HashMap<>();
                            NDArray decoded = vae.decode(z, (k, v) -> seen.put(k, Reference.toFloats(v)));
                            assertTrue(seen.containsKey("decoder.mid_block"), "no decoder.mid_block intermediate");
                            check(report, tol, label + " decoder_mid_block_output", ref, c.get("decoder_mid_block_output"),
                                    seen.get("decoder.mid_block"));
                            check(report, tol, label + " decoded", ref, c.get("decoded"), decoded);
                        }
                        case "decode_pipeline" -> {
                            NDArray latents = floats(m, ref, c.get("latents").asText(), io);
                            assertEquals(c.get("scaling_factor").asDouble(), cfg.scalingFactor(), 0);
                            NDArray decoded = vae.decode(latents.div((float) cfg.scalingFactor()));
                            check(report, tol, label + " decoded", ref, c.get("decoded"), decoded);
                            NDArray image = decoded.div(2).add(0.5f).clip(0f, 1f);
                            check(report, tol, label + " image", ref, c.get("image"), image);
                        }
                        case "encode" -> {
                            NDArray image = floats(m, ref, c.get("image").asText(), io);
                            try (EncodedLatents latents = vae.encode(image)) {
                                check(report, tol, label + " mean", ref, c.get("mean"), latents.mean());
                                check(report, tol, label + " logvar", ref, c.get("logvar"), latents.logvar());
                                check(report, tol, label + " std", ref, c.get("std"), latents.std());
                                NDArray noise = floats(m, ref, c.get("sample_noise").asText(), io);
                                check(report, tol, label + " sample", ref, c.get("sample"), latents.sample(noise));
                            }
                        }
                        default -> fail("vae case " + name + " has no check here");
                    }
                }
            }
        } finally {
            files.forEach(TensorFile::close);
        }
        System.out.println("VaeTest " + dtype + " worst abs errors:\n  " + String.join("\n  ", report));
    }

    @Test
    void decodeAndEncodeCloseTheirTemporaries() {
        ModelFolder folder = ModelFolder.open(Reference.tinyModel());
        List<TensorFile> files = folder.weights("vae", null);
        try (NDManager weights = NDManager.newBaseManager()) {
            AutoencoderKL vae = new AutoencoderKL(VaeConfig.fromJson(folder.config("vae")),
                    new Weights(files, weights, DataType.FLOAT32));
            try (NDManager m = weights.newSubManager()) {
                NDArray z = m.randomNormal(new Shape(1, 4, 5, 7));
                NDArray decoded = vae.decode(z);
                assertEquals(new Shape(1, 3, 40, 56), decoded.getShape());
                NDArray image = m.randomUniform(-1f, 1f, new Shape(1, 3, 40, 56));
                // The encoder loads lazily: count the arrays after its first use.
                vae.encode(image).close();
                int weightCount = weights.getManagedArrays().size() - m.getManagedArrays().size();
                EncodedLatents latents = vae.encode(image);
                assertEquals(new Shape(1, 4, 5, 7), latents.mean().getShape());
                List<NDArray> left = m.getManagedArrays().stream()
                        .filter(a -> a != z && a != decoded && a != image && a != latents.mean() && a != latents.logvar())
                        .toList();
                assertEquals(List.of(), left.stream().map(a -> a.getShape().toString()).toList(), "temporaries left open");
                assertEquals(weightCount, weights.getManagedArrays().size() - m.getManagedArrays().size(),
                        "arrays created in the weights' manager");
            }
        } finally {
            files.forEach(TensorFile::close);
        }
    }

    /** SD v1-4 and v1-5 VAE files name the mid-block attention query/key/value/proj_attn. */
    @Test
    void legacyAttentionNamesGiveIdenticalOutput(@TempDir Path dir) throws IOException {
        ModelFolder folder = ModelFolder.open(Reference.tinyModel());
        VaeConfig cfg = VaeConfig.fromJson(folder.config("vae"));
        List<TensorFile> current = folder.weights("vae", null);
        Path legacyFile = dir.resolve("diffusion_pytorch_model.safetensors");
        int renamed = rewrite((SafeTensors) current.get(0), legacyFile, n -> n
                .replace(".attentions.0.to_q.", ".attentions.0.query.")
                .replace(".attentions.0.to_k.", ".attentions.0.key.")
                .replace(".attentions.0.to_v.", ".attentions.0.value.")
                .replace(".attentions.0.to_out.0.", ".attentions.0.proj_attn."));
        assertEquals(16, renamed, "q/k/v/out weight and bias of the encoder's and the decoder's attention");
        SafeTensors legacy = SafeTensors.open(legacyFile);
        assertTrue(legacy.contains("decoder.mid_block.attentions.0.proj_attn.weight"));
        assertFalse(legacy.contains("decoder.mid_block.attentions.0.to_out.0.weight"));
        SafeTensors ref = Reference.tensors("vae");
        try (NDManager m = NDManager.newBaseManager()) {
            AutoencoderKL a = new AutoencoderKL(cfg, new Weights(current, m, DataType.FLOAT32));
            AutoencoderKL b = new AutoencoderKL(cfg, new Weights(List.of(legacy), m, DataType.FLOAT32));
            NDArray z = floats(m, ref, "vae/decode_raw/z");
            assertArrayEquals(a.decode(z).toFloatArray(), b.decode(z).toFloatArray());
            NDArray image = floats(m, ref, "vae/encode/image");
            try (EncodedLatents ea = a.encode(image); EncodedLatents eb = b.encode(image)) {
                assertArrayEquals(ea.mean().toFloatArray(), eb.mean().toFloatArray());
                assertArrayEquals(ea.logvar().toFloatArray(), eb.logvar().toFloatArray());
            }
        } finally {
            current.forEach(TensorFile::close);
            legacy.close();
        }
    }

    @Test
    void sdV14ConfigTakesDiffusersDefaults() {
        VaeConfig cfg = VaeConfig.fromJson(ModelFolder.open(Reference.sdV14Configs()).config("vae"));
        assertArrayEquals(new int[]{128, 256, 512, 512}, cfg.blockOutChannels());
        assertEquals(32, cfg.normNumGroups(), "absent norm_num_groups is diffusers' 32");
        assertEquals(2, cfg.layersPerBlock());
        assertEquals(4, cfg.latentChannels());
        assertEquals(0.18215, cfg.scalingFactor());
        assertNull(cfg.shiftFactor());
        assertTrue(cfg.useQuantConv() && cfg.usePostQuantConv() && cfg.midBlockAddAttention());
    }

    private static void check(List<String> report, double tol, String what, SafeTensors ref, JsonNode refName,
                              NDArray actual) {
        check(report, tol, what, ref, refName, Reference.toFloats(actual));
        assertEquals(new Shape(ref.entry(refName.asText()).shape()), actual.getShape(), what + ": shape");
    }

    private static void check(List<String> report, double tol, String what, SafeTensors ref, JsonNode refName,
                              float[] actual) {
        Reference.Diff d = Reference.assertClose(what, ref.floats(refName.asText()), actual, tol);
        report.add(String.format("%s %.2g (scale %.3g, %.2g of scale)", what, d.maxAbs(), d.scale(), d.maxAbs() / d.scale()));
    }

    private static NDArray floats(NDManager m, SafeTensors ref, String name) {
        return m.create(ref.floats(name), new Shape(ref.entry(name).shape()));
    }

    private static NDArray floats(NDManager m, SafeTensors ref, String name, DataType dtype) {
        NDArray a = floats(m, ref, name);
        return dtype == DataType.FLOAT32 ? a : a.toType(dtype, false);
    }

    /** Copies a safetensors file with its tensors renamed; returns how many names changed. */
    private static int rewrite(SafeTensors src, Path dst, UnaryOperator<String> rename) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        Map<String, String> names = new LinkedHashMap<>();
        long offset = 0;
        int renamed = 0;
        for (String name : src.names().stream().sorted().toList()) {
            SafeTensors.Entry e = src.entry(name);
            String to = rename.apply(name);
            renamed += to.equals(name) ? 0 : 1;
            names.put(to, name);
            ObjectNode t = header.putObject(to);
            t.put("dtype", e.dtype().name());
            var shape = t.putArray("shape");
            for (long d : e.shape()) shape.add(d);
            long size = e.end() - e.begin();
            t.putArray("data_offsets").add(offset).add(offset + size);
            offset += size;
        }
        byte[] h = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        try (OutputStream out = Files.newOutputStream(dst); WritableByteChannel ch = Channels.newChannel(out)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).flip());
            ch.write(ByteBuffer.wrap(h));
            for (String to : names.keySet()) {
                ch.write(src.bytes(names.get(to)).duplicate());
            }
        }
        return renamed;
    }
}
