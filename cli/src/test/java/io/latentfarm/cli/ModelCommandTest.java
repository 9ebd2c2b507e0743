package io.latentfarm.cli;

import io.latentfarm.common.image.Png;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.latentfarm.cli.CliTestSupport.run;
import static io.latentfarm.cli.CliTestSupport.tinyModel;
import static org.junit.jupiter.api.Assertions.*;

class ModelCommandTest {

    @Test
    void tinyModelIsADiffusersFolderThatGenerateLoads(@TempDir Path tmp) throws IOException {
        Path model = tmp.resolve("tiny");
        CliTestSupport.Run w = run("model", "tiny", "--out", model.toString(), "--seed", "7");
        assertEquals(0, w.code(), w.err());
        for (String f : new String[]{"model_index.json", "unet/diffusion_pytorch_model.safetensors",
                "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                "tokenizer/vocab.json", "tokenizer/merges.txt", "scheduler/scheduler_config.json"}) {
            assertTrue(Files.isRegularFile(model.resolve(f)), f);
        }
        // every weight a real checkpoint has: the VAE's encoder too
        try (io.latentfarm.model.files.SafeTensors vae = io.latentfarm.model.files.SafeTensors.open(
                model.resolve("vae/diffusion_pytorch_model.safetensors"));
             io.latentfarm.model.files.SafeTensors ref = io.latentfarm.model.files.SafeTensors.open(
                     tinyModel().resolve("vae/diffusion_pytorch_model.safetensors"))) {
            assertEquals(ref.names(), vae.names());
        }
        try (io.latentfarm.model.files.SafeTensors unet = io.latentfarm.model.files.SafeTensors.open(
                model.resolve("unet/diffusion_pytorch_model.safetensors"));
             io.latentfarm.model.files.SafeTensors ref = io.latentfarm.model.files.SafeTensors.open(
                     tinyModel().resolve("unet/diffusion_pytorch_model.safetensors"))) {
            assertEquals(ref.names(), unet.names());
        }
        // the same seed writes the same weights
        Path again = tmp.resolve("again");
        assertEquals(0, run("model", "tiny", "--out", again.toString(), "--seed", "7").code());
        assertArrayEquals(Files.readAllBytes(model.resolve("unet/diffusion_pytorch_model.safetensors")),
                Files.readAllBytes(again.resolve("unet/diffusion_pytorch_model.safetensors")));

        CliTestSupport.Run g = run("generate", "--model", model.toString(), "--prompt", "a cat", "--steps", "2",
                "--width", "64", "--height", "64", "--seed", "1", "--out", tmp.resolve("out").toString());
        assertEquals(0, g.code(), g.err());
        byte[] png = Files.readAllBytes(tmp.resolve("out/0000.png"));
        assertEquals(64, Png.decode(png).width());
    }

    @Test
    void randomWeightsForAConfigFolderLoadInFp16Variant(@TempDir Path tmp) throws IOException {
        // a weightless config folder: the fixture's configs and tokenizer, no safetensors
        Path configs = tmp.resolve("configs");
        for (String f : new String[]{"model_index.json", "unet/config.json", "vae/config.json", "text_encoder/config.json",
                "scheduler/scheduler_config.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
                "tokenizer/tokenizer_config.json", "tokenizer/special_tokens_map.json"}) {
            Files.createDirectories(configs.resolve(f).getParent());
            Files.copy(tinyModel().resolve(f), configs.resolve(f));
        }
        Path model = tmp.resolve("model");
        CliTestSupport.Run w = run("model", "random", "--config", configs.toString(), "--out", model.toString(), "--variant", "fp16");
        assertEquals(0, w.code(), w.err());
        assertTrue(Files.isRegularFile(model.resolve("unet/diffusion_pytorch_model.fp16.safetensors")));
        CliTestSupport.Run g = run("generate", "--model", model.toString(), "--variant", "fp16", "--prompt", "x",
                "--steps", "1", "--width", "64", "--height", "64", "--seed", "3", "--out", tmp.resolve("out").toString());
        assertEquals(0, g.code(), g.err());
        CliTestSupport.Run missingVariant = run("generate", "--model", model.toString(), "--prompt", "x", "--steps", "1",
                "--width", "64", "--height", "64", "--out", tmp.resolve("out2").toString());
        assertNotEquals(0, missingVariant.code());
        assertTrue(missingVariant.err().contains("diffusion_pytorch_model.safetensors: file not found"), missingVariant.err());
    }
}
