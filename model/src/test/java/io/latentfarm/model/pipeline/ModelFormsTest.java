package io.latentfarm.model.pipeline;

import io.latentfarm.model.files.ModelFiles;
import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The fixture's weights in the forms users have them draw diffusers' reference images: a
 * single-file .safetensors and .ckpt in the LDM layout, a folder of .bin pickles, and a repo id
 * in a Hugging Face cache.
 */
class ModelFormsTest {

    @Test
    void singleFileSafetensorsWithConfigsButNoTokenizer(@TempDir Path dir) throws IOException {
        // a --config folder without tokenizer/: the bundled CLIP tokenizer applies
        Path configs = dir.resolve("configs");
        for (String f : new String[]{"model_index.json", "unet/config.json", "vae/config.json",
                "text_encoder/config.json", "scheduler/scheduler_config.json"}) {
            Files.createDirectories(configs.resolve(f).getParent());
            Files.copy(Reference.tinyModel().resolve(f), configs.resolve(f));
        }
        assertDrawsTheReference(ModelFiles.resolve(Reference.singleFile().resolve("tiny-sd-v1.safetensors").toString(),
                null, configs, null), "tiny-sd-v1");
    }

    @Test
    void singleFileCkpt() throws IOException {
        assertDrawsTheReference(ModelFiles.resolve(Reference.singleFile().resolve("tiny-sd-v1.ckpt").toString(),
                null, Reference.tinyModel(), null), "tiny-sd-v1");
    }

    @Test
    void folderOfBinPickles() throws IOException {
        assertDrawsTheReference(ModelFiles.resolve(Reference.singleFile().resolve("bin").toString(), null, null, null),
                "bin");
    }

    @Test
    void repoIdInAHuggingFaceCache(@TempDir Path cache) throws IOException {
        HubCacheLayout.write(cache, "someone/tiny-sd-v1", Reference.tinyModel());
        assertDrawsTheReference(ModelFiles.resolve("someone/tiny-sd-v1", null, null, cache), "someone/tiny-sd-v1");
    }

    private static void assertDrawsTheReference(ModelFiles model, String label) throws IOException {
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(model, PipelineOptions.cpu())) {
            assertEquals(label, pipe.modelLabel());
            StableDiffusionPipelineTest.assertEveryPipelineCase(pipe);
        }
    }
}
