package io.latentfarm.model.files;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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

    private ModelFolder(Path dir) {
        this.dir = dir;
    }

    public static ModelFolder open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ModelException(dir + ": model folder not found");
        }
        Path index = dir.resolve("model_index.json");
        if (!Files.isRegularFile(index)) {
            throw new ModelException(index + ": file not found (not a diffusers pipeline folder)");
        }
        readJson(index); // a folder whose index is not JSON is refused here, naming the file
        return new ModelFolder(dir);
    }

    public Path dir() {
        return dir;
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
     * The component's weights, as diffusers picks them: {@code diffusion_pytorch_model[.variant].safetensors}
     * or {@code model[.variant].safetensors} (or every shard of a sharded checkpoint), else the PyTorch
     * pickle {@code diffusion_pytorch_model[.variant].bin} / {@code pytorch_model[.variant].bin}.
     * Without a variant, only the plain files count; a folder holding only variant files gets a
     * message naming the variants present.
     */
    public List<TensorFile> weights(String component, String variant) {
        Path folder = component(component);
        String v = (variant == null || variant.isBlank()) ? "" : "." + variant;
        List<String> names = fileNames(folder);
        for (String ext : List.of(".safetensors", ".bin")) {
            for (String stem : WEIGHT_STEMS) {
                if (names.contains(stem + v + ext)) {
                    return List.of(TensorFile.open(folder.resolve(stem + v + ext)));
                }
            }
            String shard = "(" + String.join("|", WEIGHT_STEMS) + ")-\\d+-of-\\d+" + Pattern.quote(v + ext);
            List<Path> shards = names.stream().filter(n -> n.matches(shard)).sorted().map(folder::resolve).toList();
            if (!shards.isEmpty()) {
                List<TensorFile> files = new ArrayList<>();
                try {
                    for (Path p : shards) files.add(TensorFile.open(p));
                } catch (RuntimeException e) {
                    files.forEach(TensorFile::close);
                    throw e;
                }
                return files;
            }
        }
        Set<String> variants = new TreeSet<>();
        Matcher m;
        for (String n : names) {
            if ((m = VARIANT_FILE.matcher(n)).matches()) variants.add(m.group(3));
        }
        String present = variants.isEmpty() ? "" : "; variants present: " + String.join(", ", variants)
                + " (choose one with --variant)";
        throw new ModelException(folder.resolve("diffusion_pytorch_model" + v + ".safetensors")
                + ": file not found (nor a .bin" + (v.isEmpty() ? "" : " of variant '" + variant + "'") + ")" + present);
    }

    private static final List<String> WEIGHT_STEMS = List.of("diffusion_pytorch_model", "model", "pytorch_model");
    private static final Pattern VARIANT_FILE = Pattern.compile(
            "(diffusion_pytorch_model|model|pytorch_model)(-\\d+-of-\\d+)?\\.([A-Za-z0-9_]+)\\.(safetensors|bin)");

    private static List<String> fileNames(Path folder) {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new ModelException(folder + ": cannot list (" + e.getMessage() + ")", e);
        }
    }

    static JsonNode readJson(Path file) {
        try {
            try (java.io.InputStream in = Files.newInputStream(file)) {
                return JSON.readTree(in);
            }
        } catch (IOException e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().split("\n")[0];
            throw new ModelException(file + ": invalid JSON (" + msg + ")", e);
        }
    }
}
