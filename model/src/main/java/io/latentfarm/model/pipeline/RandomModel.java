package io.latentfarm.model.pipeline;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.latentfarm.model.files.ModelException;
import io.latentfarm.model.files.ModelFolder;
import io.latentfarm.model.files.RandomWeights;
import io.latentfarm.model.files.SafeTensorDType;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.text.ClipTextConfig;
import io.latentfarm.model.text.ClipTextModel;
import io.latentfarm.model.unet.UNet2DConditionModel;
import io.latentfarm.model.unet.UNetConfig;
import io.latentfarm.model.vae.AutoencoderKL;
import io.latentfarm.model.vae.VaeConfig;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Writes random-weight Stable Diffusion v1 models in the diffusers layout: the bundled tiny
 * configuration ({@code latentfarm model tiny}) or any SD v1 config folder ({@code latentfarm model
 * random}). The parameter names and shapes come from building the real model classes, so what is
 * written always loads back.
 */
public final class RandomModel {
    private static final String TINY = "/io/latentfarm/model/tiny/";
    private static final String CLIP = "/io/latentfarm/model/text/clip/";
    private static final List<String> TOKENIZER_FILES =
            List.of("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json");

    private RandomModel() {
    }

    /** Parameter counts per component, for the caller to report. */
    public record Written(Path dir, Map<String, Long> parameters) {
    }

    /** The bundled tiny SD-v1-shaped model with the real CLIP tokenizer files. */
    public static Written writeTiny(Path out, long seed) {
        try {
            Files.createDirectories(out);
            for (String f : List.of("model_index.json", "unet/config.json", "vae/config.json",
                    "text_encoder/config.json", "scheduler/scheduler_config.json")) {
                copyResource(TINY + f, out.resolve(f));
            }
            for (String f : TOKENIZER_FILES) {
                copyResource(CLIP + f, out.resolve("tokenizer/" + f));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": cannot write (" + e.getMessage() + ")", e);
        }
        return writeWeights(ModelFolder.open(out), out, null, seed);
    }

    /**
     * Random weights for the configs in {@code configDir} (a diffusers folder without weights):
     * configs and tokenizer are copied, weights written in fp32, or fp16 with variant "fp16".
     */
    public static Written writeRandom(Path configDir, Path out, String variant, long seed) {
        ModelFolder configs = ModelFolder.open(configDir);
        try {
            Files.createDirectories(out);
            Files.copy(configDir.resolve("model_index.json"), out.resolve("model_index.json"), StandardCopyOption.REPLACE_EXISTING);
            for (String c : List.of("unet", "vae", "text_encoder")) {
                Files.createDirectories(out.resolve(c));
                Files.copy(configs.component(c).resolve("config.json"), out.resolve(c + "/config.json"), StandardCopyOption.REPLACE_EXISTING);
            }
            Files.createDirectories(out.resolve("scheduler"));
            Files.copy(configs.component("scheduler").resolve("scheduler_config.json"),
                    out.resolve("scheduler/scheduler_config.json"), StandardCopyOption.REPLACE_EXISTING);
            Path tok = configDir.resolve("tokenizer");
            for (String f : TOKENIZER_FILES) {
                if (Files.isRegularFile(tok.resolve(f))) {
                    Files.createDirectories(out.resolve("tokenizer"));
                    Files.copy(tok.resolve(f), out.resolve("tokenizer/" + f), StandardCopyOption.REPLACE_EXISTING);
                } else {
                    copyResource(CLIP + f, out.resolve("tokenizer/" + f));
                }
            }
        } catch (IOException e) {
            throw new ModelException(out + ": cannot write (" + e.getMessage() + ")", e);
        }
        return writeWeights(ModelFolder.open(out), out, variant, seed);
    }

    private static Written writeWeights(ModelFolder folder, Path out, String variant, long seed) {
        SafeTensorDType dtype = "fp16".equals(variant) ? SafeTensorDType.F16 : SafeTensorDType.F32;
        String suffix = variant == null ? ".safetensors" : "." + variant + ".safetensors";
        Map<String, Long> counts = new LinkedHashMap<>();
        component(folder, "text_encoder", (vb, cfg) -> new ClipTextModel(vb, ClipTextConfig.from(cfg)),
                out.resolve("text_encoder/model" + suffix), dtype, seed, counts);
        component(folder, "unet", (vb, cfg) -> new UNet2DConditionModel(UNetConfig.fromJson(cfg), vb),
                out.resolve("unet/diffusion_pytorch_model" + suffix), dtype, seed + 1, counts);
        component(folder, "vae", (vb, cfg) -> new AutoencoderKL(VaeConfig.fromJson(cfg), vb).loadEncoder(),
                out.resolve("vae/diffusion_pytorch_model" + suffix), dtype, seed + 2, counts);
        return new Written(out, counts);
    }

    private static void component(ModelFolder folder, String name,
                                  BiConsumer<Weights, com.fasterxml.jackson.databind.JsonNode> build,
                                  Path file, SafeTensorDType dtype, long seed, Map<String, Long> counts) {
        RandomWeights recorder = new RandomWeights();
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            build.accept(new Weights(recorder, m, DataType.FLOAT32), folder.config(name));
        }
        recorder.write(file, dtype, seed);
        counts.put(name, recorder.parameterCount());
    }

    private static void copyResource(String resource, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        try (InputStream in = RandomModel.class.getResourceAsStream(resource)) {
            if (in == null) throw new IOException("missing bundled resource " + resource);
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
