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
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class WeightsTest {

    @Test
    void prefixedViewLoadsDiffusersNamesAsFloat32() {
        ModelFolder folder = ModelFolder.open(Reference.tinyModel());
        List<TensorFile> files = folder.weights("unet", null);
        try (NDManager m = NDManager.newBaseManager()) {
            Weights unet = new Weights(files, m, DataType.FLOAT32);
            Weights attn = unet.pp("down_blocks").pp(0).pp("attentions").pp(0);
            assertEquals("down_blocks.0.attentions.0.", attn.prefix());
            NDArray w = attn.get("proj_in.weight", 32, 32, 1, 1);
            assertEquals(DataType.FLOAT32, w.getDataType());
            assertArrayEquals(((SafeTensors) files.get(0)).floats("down_blocks.0.attentions.0.proj_in.weight"), w.toFloatArray());

            String wrong = assertThrows(ModelException.class, () -> attn.get("proj_in.weight", 32, 32)).getMessage();
            assertTrue(wrong.contains("[32, 32, 1, 1]") && wrong.contains("expected [32, 32]"), wrong);
            String missing = assertThrows(ModelException.class, () -> attn.get("nope.weight")).getMessage();
            assertTrue(missing.contains("down_blocks.0.attentions.0.nope.weight") && missing.contains("missing"), missing);
        } finally {
            files.forEach(TensorFile::close);
        }
    }

    /** fp16 files load as fp16 tensors for an fp16 pipeline (no upcast), and widen exactly for float32. */
    @Test
    void fp16WeightsLoadNatively(@TempDir Path dir) {
        Path file = dir.resolve("w.safetensors");
        float[] values = {1f, -0.5f, 0.333251953125f, 65504f, 6.1035156e-05f, 0f};
        SafeTensorsWriter.write(file, List.of(new SafeTensorsWriter.Spec("a.weight", SafeTensorDType.F16, new long[]{2, 3})),
                null, (spec, offset, out) -> System.arraycopy(values, (int) offset, out, 0, out.length));
        try (SafeTensors st = SafeTensors.open(file); NDManager m = NDManager.newBaseManager()) {
            NDArray half = new Weights(List.of(st), m, DataType.FLOAT16).pp("a").get("weight", 2, 3);
            assertEquals(DataType.FLOAT16, half.getDataType());
            assertEquals(half.getShape().size() * 2, half.toByteBuffer().remaining(), "two bytes per element");
            NDArray widened = new Weights(List.of(st), m, DataType.FLOAT32).get("a.weight");
            assertEquals(DataType.FLOAT32, widened.getDataType());
            assertArrayEquals(values, widened.toFloatArray());
        }
    }

    @Test
    void modelFolderErrorsNameTheFile(@TempDir Path dir) throws IOException {
        assertTrue(assertThrows(ModelException.class, () -> ModelFolder.open(dir.resolve("absent")))
                .getMessage().contains("model folder not found"));
        assertTrue(assertThrows(ModelException.class, () -> ModelFolder.open(dir))
                .getMessage().contains("model_index.json"));
        Files.writeString(dir.resolve("model_index.json"), "{}");
        Files.createDirectories(dir.resolve("unet"));
        Files.writeString(dir.resolve("unet/config.json"), "{\"block_out_channels\": [32,");
        ModelFolder f = ModelFolder.open(dir);
        String bad = assertThrows(ModelException.class, () -> f.config("unet")).getMessage();
        assertTrue(bad.contains("unet/config.json") && bad.contains("invalid JSON"), bad);
        String noWeights = assertThrows(ModelException.class, () -> f.weights("unet", "fp16")).getMessage();
        assertTrue(noWeights.contains("diffusion_pytorch_model.fp16.safetensors") && noWeights.contains("variant 'fp16'"), noWeights);
        assertTrue(assertThrows(ModelException.class, () -> f.config("vae")).getMessage().contains("component folder not found"));
    }

    @Test
    void schedulerConfigIsFoundUnderItsOwnName() {
        ModelFolder f = ModelFolder.open(Reference.sdV14Configs());
        assertEquals("PNDMScheduler", f.config("scheduler").get("_class_name").asText());
    }
}
