package io.latentfarm.worker.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A diffusers pipeline folder as a user downloads it: {@code model_index.json} and one folder per
 * component ({@code unet/}, {@code vae/}, {@code text_encoder/}, {@code tokenizer/},
 * {@code scheduler/}). Components the pipeline does not use (safety checker, feature extractor) may
 * be absent.
 */
public final class ModelFolder {
    /** Configs written by diffusers spell non-finite floats as bare NaN/Infinity. */
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS);

    private final Path dir;
    private final JsonNode modelIndex;

    private ModelFolder(Path dir, JsonNode modelIndex) {
        this.dir = dir;
        this.modelIndex = modelIndex;
    }

    public static ModelFolder open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ModelException(dir + ": model folder not found");
        }
        Path index = dir.resolve("model_index.json");
        if (!Files.isRegularFile(index)) {
            throw new ModelException(index + ": file not found (not a diffusers pipeline folder)");
        }
        return new ModelFolder(dir, readJson(index));
    }

    public Path dir() {
        return dir;
    }

    public JsonNode modelIndex() {
        return modelIndex;
    }

    /** The folder of one component, which must exist. */
    public Path component(String name) {
        Path p = dir.resolve(name);
        if (!Files.isDirectory(p)) {
            throw new ModelException(p + ": component folder not found");
        }
        return p;
    }

    /** {@code <component>/config.json}, or {@code scheduler/scheduler_config.json}. */
    public JsonNode config(String component) {
        Path folder = component(component);
        Path file = folder.resolve("config.json");
        if (!Files.isRegularFile(file) && Files.isRegularFile(folder.resolve(component + "_config.json"))) {
            file = folder.resolve(component + "_config.json");
        }
        if (!Files.isRegularFile(file)) {
            throw new ModelException(file + ": file not found");
        }
        JsonNode n = readJson(file);
        if (!n.isObject()) {
            throw new ModelException(file + ": not a JSON object");
        }
        return n;
    }

    /**
     * The component's safetensors weights: {@code diffusion_pytorch_model[.variant].safetensors} or
     * {@code model[.variant].safetensors}, or every shard of a sharded checkpoint.
     */
    public List<SafeTensors> weights(String component, String variant) {
        Path folder = component(component);
        String suffix = (variant == null || variant.isBlank()) ? ".safetensors" : "." + variant + ".safetensors";
        for (String stem : List.of("diffusion_pytorch_model", "model")) {
            Path single = folder.resolve(stem + suffix);
            if (Files.isRegularFile(single)) {
                return List.of(SafeTensors.open(single));
            }
        }
        List<Path> shards = new ArrayList<>();
        try (Stream<Path> s = Files.list(folder)) {
            s.filter(p -> {
                String n = p.getFileName().toString();
                return n.matches("(diffusion_pytorch_model|model)-\\d+-of-\\d+" + suffix.replace(".", "\\."));
            }).sorted().forEach(shards::add);
        } catch (IOException e) {
            throw new ModelException(folder + ": cannot list (" + e.getMessage() + ")", e);
        }
        if (shards.isEmpty()) {
            throw new ModelException(folder.resolve("diffusion_pytorch_model" + suffix) + ": file not found"
                    + (suffix.equals(".safetensors") ? "" : " (variant '" + variant + "')")
                    + "; latentfarm reads safetensors weights only");
        }
        List<SafeTensors> files = new ArrayList<>();
        for (Path p : shards) files.add(SafeTensors.open(p));
        return files;
    }

    static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().split("\n")[0];
            throw new ModelException(file + ": invalid JSON (" + msg + ")", e);
        }
    }
}
