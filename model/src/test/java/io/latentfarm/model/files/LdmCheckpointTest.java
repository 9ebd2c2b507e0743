package io.latentfarm.model.files;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The LDM -> diffusers renaming, the SD v1 check, and how --model is resolved. */
class LdmCheckpointTest {

    /** Every tensor of the diffusers folder is found in the single file under its LDM name, equal. */
    @Test
    void everyDiffusersTensorComesFromTheSingleFile() {
        ModelFolder folder = ModelFolder.open(Reference.tinyModel());
        for (String file : List.of("tiny-sd-v1.safetensors", "tiny-sd-v1.ckpt")) {
            try (LdmCheckpoint ckpt = LdmCheckpoint.open(Reference.singleFile().resolve(file), 2);
                 NDManager m = NDManager.newBaseManager()) {
                for (String component : List.of("unet", "vae", "text_encoder")) {
                    Weights.Source converted = ckpt.component(component);
                    for (TensorFile f : folder.weights(component, null)) {
                        try (f) {
                            for (String name : f.names()) {
                                if (name.endsWith("position_ids")) continue;
                                assertTrue(converted.contains(name), file + " " + component + ": no " + name);
                                NDArray want = Weights.load(f, name, new long[0], m).toType(DataType.FLOAT32, false);
                                NDArray got = converted.load(name, want.getShape().getShape(), m).toType(DataType.FLOAT32, false);
                                assertArrayEquals(want.toFloatArray(), got.toFloatArray(), file + " " + name);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void unetAndVaeNamesFollowDiffusers() {
        assertEquals("down_blocks.1.resnets.0.conv_shortcut.weight",
                LdmCheckpoint.unetName("input_blocks.4.0.skip_connection.weight", 2));
        assertEquals("down_blocks.0.downsamplers.0.conv.bias", LdmCheckpoint.unetName("input_blocks.3.0.op.bias", 2));
        assertEquals("up_blocks.0.upsamplers.0.conv.weight", LdmCheckpoint.unetName("output_blocks.2.1.conv.weight", 2));
        assertEquals("up_blocks.1.upsamplers.0.conv.weight", LdmCheckpoint.unetName("output_blocks.5.2.conv.weight", 2));
        assertEquals("up_blocks.1.attentions.2.proj_in.weight", LdmCheckpoint.unetName("output_blocks.5.1.proj_in.weight", 2));
        assertEquals("mid_block.resnets.1.time_emb_proj.bias", LdmCheckpoint.unetName("middle_block.2.emb_layers.1.bias", 2));
        assertEquals("mid_block.attentions.0.transformer_blocks.0.attn1.to_q.weight",
                LdmCheckpoint.unetName("middle_block.1.transformer_blocks.0.attn1.to_q.weight", 2));
        assertEquals("decoder.up_blocks.3.resnets.0.conv_shortcut.weight",
                LdmCheckpoint.vaeName("decoder.up.0.block.0.nin_shortcut.weight", 4));
        assertEquals("decoder.up_blocks.0.upsamplers.0.conv.bias", LdmCheckpoint.vaeName("decoder.up.3.upsample.conv.bias", 4));
        assertEquals("encoder.mid_block.attentions.0.to_out.0.weight", LdmCheckpoint.vaeName("encoder.mid.attn_1.proj_out.weight", 4));
        assertEquals("encoder.mid_block.attentions.0.group_norm.bias", LdmCheckpoint.vaeName("encoder.mid.attn_1.norm.bias", 4));
        assertNull(LdmCheckpoint.unetName("label_emb.0.0.weight", 2));
    }

    @Test
    void checkpointsThatAreNotSdV1AreRefusedSayingWhatTheyAre(@TempDir Path dir) {
        assertRefused(dir, "xl", Map.of("model.diffusion_model.input_blocks.0.0.weight", new long[]{320, 4, 3, 3},
                "conditioner.embedders.1.model.ln_final.weight", new long[]{4}), "SDXL");
        assertRefused(dir, "v2", Map.of("model.diffusion_model.input_blocks.0.0.weight", new long[]{320, 4, 3, 3},
                "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", new long[]{320, 1024},
                "cond_stage_model.transformer.x", new long[]{1}), "2.x");
        assertRefused(dir, "inpaint", Map.of("model.diffusion_model.input_blocks.0.0.weight", new long[]{320, 9, 3, 3},
                "cond_stage_model.transformer.x", new long[]{1}), "inpainting");
        assertRefused(dir, "other", Map.of("encoder.weight", new long[]{4}), "not a Stable Diffusion checkpoint");
    }

    private static void assertRefused(Path dir, String name, Map<String, long[]> tensors, String says) {
        Path file = dir.resolve(name + ".safetensors");
        List<SafeTensorsWriter.Spec> specs = new ArrayList<>();
        tensors.forEach((n, shape) -> specs.add(new SafeTensorsWriter.Spec(n, SafeTensorDType.F32, shape)));
        SafeTensorsWriter.write(file, specs, Map.of(), (spec, offset, out) -> { });
        String msg = assertThrows(ModelException.class, () -> ModelFiles.resolve(file.toString(), null, null, null))
                .getMessage();
        assertTrue(msg.contains(file.toString()) && msg.contains(says), msg);
    }

    @Test
    void aSingleFileWithoutConfigUsesTheBundledSdV1Configs() {
        ModelFolder bundled = ModelFiles.bundledSdV1();
        assertEquals(320, Configs.getIntList(bundled.config("unet"), "block_out_channels", null, 4)[0]);
        assertEquals(768, Configs.getInt(bundled.config("text_encoder"), "hidden_size", 0));
        // the tiny checkpoint does not fit SD v1's shapes: the error names the tensor and both shapes
        try (ModelFiles model = ModelFiles.resolve(Reference.singleFile().resolve("tiny-sd-v1.safetensors").toString(),
                null, null, null); NDManager m = NDManager.newBaseManager()) {
            String msg = assertThrows(ModelException.class, () -> new Weights(model.weights("unet", null), m,
                    DataType.FLOAT32).get("conv_in.weight", 320, 4, 3, 3)).getMessage();
            assertTrue(msg.contains("model.diffusion_model.input_blocks.0.0.weight") && msg.contains("[320, 4, 3, 3]"), msg);
        }
    }

    @Test
    void modelResolutionErrorsAreOneLine(@TempDir Path dir) throws IOException {
        String missing = assertThrows(ModelException.class,
                () -> ModelFiles.resolve("CompVis/stable-diffusion-v1-4", null, null, dir)).getMessage();
        assertTrue(missing.contains("not in the Hugging Face cache " + dir)
                && missing.endsWith("latentfarm model pull CompVis/stable-diffusion-v1-4"), missing);
        String rev = assertThrows(ModelException.class,
                () -> ModelFiles.resolve("CompVis/stable-diffusion-v1-4", "fp16", null, dir)).getMessage();
        assertTrue(rev.endsWith("model pull CompVis/stable-diffusion-v1-4 --revision fp16"), rev);
        assertTrue(assertThrows(ModelException.class, () -> ModelFiles.resolve("no such thing", null, null, dir))
                .getMessage().contains("not a folder, a .safetensors/.ckpt file or a Hugging Face repo id"));
        assertTrue(assertThrows(ModelException.class, () -> ModelFiles.resolve(Reference.tinyModel().toString(), null,
                Reference.tinyModel(), dir)).getMessage().startsWith("--config applies to a single-file checkpoint"));
        // a folder with only fp16 variant files: the message lists the variants
        Path unet = Files.createDirectories(dir.resolve("m/unet"));
        Files.writeString(unet.resolveSibling("model_index.json"), "{}");
        Files.copy(Reference.tinyModel().resolve("unet/diffusion_pytorch_model.safetensors"),
                unet.resolve("diffusion_pytorch_model.fp16.safetensors"));
        String variants = assertThrows(ModelException.class, () -> ModelFolder.open(dir.resolve("m")).weights("unet", null))
                .getMessage();
        assertTrue(variants.contains("variants present: fp16"), variants);
    }

    @Test
    void safetensorsWinOverBinSideBySide(@TempDir Path dir) throws IOException {
        Path unet = Files.createDirectories(dir.resolve("unet"));
        Files.writeString(dir.resolve("model_index.json"), "{}");
        Files.copy(Reference.tinyModel().resolve("unet/diffusion_pytorch_model.safetensors"),
                unet.resolve("diffusion_pytorch_model.safetensors"));
        Files.copy(Reference.singleFile().resolve("bin/unet/diffusion_pytorch_model.bin"),
                unet.resolve("diffusion_pytorch_model.bin"));
        List<TensorFile> files = ModelFolder.open(dir).weights("unet", null);
        assertInstanceOf(SafeTensors.class, files.get(0));
        files.forEach(TensorFile::close);
    }
}
