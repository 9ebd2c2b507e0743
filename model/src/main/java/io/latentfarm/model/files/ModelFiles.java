package io.latentfarm.model.files;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A model as the user names it, resolved in one place for every command and the worker service:
 * a diffusers folder, a Hugging Face repo id in the hub cache ({@code OWNER/NAME} at a revision), or
 * a single-file LDM checkpoint ({@code .safetensors} / {@code .ckpt}) whose architecture comes from
 * a config folder or from the SD v1 configs bundled here. Holds the weights files it opens.
 */
public final class ModelFiles implements AutoCloseable {
    private static final String BUNDLED_SD_V1 = "/io/latentfarm/model/files/sd-v1/model_index.json";

    private final String label;
    private final ModelFolder configs;
    private final LdmCheckpoint checkpoint;
    private final List<TensorFile> open = new ArrayList<>();

    private ModelFiles(String label, ModelFolder configs, LdmCheckpoint checkpoint) {
        this.label = label;
        this.configs = configs;
        this.checkpoint = checkpoint;
    }

    /**
     * Resolves {@code --model}: an existing folder; a {@code .safetensors}/{@code .ckpt} file (with
     * {@code config} a diffusers folder giving the architecture and tokenizer, or null for the
     * bundled SD v1 configs); else {@code OWNER/NAME} in the hub cache {@code hfCache} (null: the
     * default of {@link HfCache#defaultDir}) at {@code revision} (null: {@code main}).
     */
    public static ModelFiles resolve(String model, String revision, Path config, Path hfCache) {
        if (model == null || model.isBlank()) {
            throw new ModelException("--model: give a diffusers folder, a .safetensors/.ckpt file or a Hugging Face repo id (OWNER/NAME)");
        }
        Path path = Path.of(model);
        if (Files.isRegularFile(path)) {
            if (revision != null) throw new ModelException("--revision applies to a Hugging Face repo id, not to the file " + model);
            return singleFile(path, config);
        }
        if (config != null) {
            throw new ModelException("--config applies to a single-file checkpoint (.safetensors, .ckpt), not to " + model);
        }
        if (Files.isDirectory(path)) {
            if (revision != null) throw new ModelException("--revision applies to a Hugging Face repo id, not to the folder " + model);
            return folder(path);
        }
        if (HfCache.isRepoId(model) && !isCheckpointName(model)) {
            Path cache = hfCache != null ? hfCache : HfCache.defaultDir(System.getenv());
            Path snapshot = HfCache.snapshot(cache, model, revision == null ? "main" : revision);
            return new ModelFiles(model, ModelFolder.open(snapshot), null);
        }
        throw new ModelException("--model: " + model + " is not a folder, a .safetensors/.ckpt file or a Hugging Face"
                + " repo id (OWNER/NAME)");
    }

    /** A diffusers folder. */
    public static ModelFiles folder(Path dir) {
        Path name = dir.toAbsolutePath().normalize().getFileName();
        return new ModelFiles(name == null ? dir.toString() : name.toString(), ModelFolder.open(dir), null);
    }

    /** A single-file LDM checkpoint; {@code configDir} null means the bundled SD v1 configs. */
    public static ModelFiles singleFile(Path file, Path configDir) {
        ModelFolder configs = configDir != null ? ModelFolder.open(configDir) : bundledSdV1();
        int layersPerBlock = Configs.getIntList(configs.config("unet"), "layers_per_block", new int[]{2}, 1)[0];
        LdmCheckpoint checkpoint = LdmCheckpoint.open(file, layersPerBlock);
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return new ModelFiles(dot > 0 ? name.substring(0, dot) : name, configs, checkpoint);
    }

    private static boolean isCheckpointName(String s) {
        String n = s.toLowerCase(Locale.ROOT);
        return n.endsWith(".safetensors") || n.endsWith(".ckpt") || n.endsWith(".bin") || n.endsWith(".pt");
    }

    /** The SD v1 configs (CompVis/stable-diffusion-v1-4's) shipped in this jar. */
    public static ModelFolder bundledSdV1() {
        try {
            URI uri = ModelFiles.class.getResource(BUNDLED_SD_V1).toURI();
            if ("jar".equals(uri.getScheme())) {
                try {
                    FileSystems.newFileSystem(uri, Map.of());
                } catch (FileSystemAlreadyExistsException ignored) {
                    // opened by an earlier load
                }
            }
            return ModelFolder.open(Path.of(uri).getParent());
        } catch (URISyntaxException | IOException | NullPointerException e) {
            throw new ModelException("bundled SD v1 configs: cannot open (" + e + ")", e);
        }
    }

    /** What the model is called in PNG parameters and health: folder name, repo id or file stem. */
    public String label() {
        return label;
    }

    /** Where configs come from: the folder itself, {@code --config}, or the bundled SD v1 configs. */
    public ModelFolder configs() {
        return configs;
    }

    /**
     * The tokenizer folder: the model's own, or null for a single file whose configs have none
     * (the standard CLIP ViT-L/14 tokenizer of SD v1 applies).
     */
    public Path tokenizerDir() {
        Path dir = configs.dir().resolve("tokenizer");
        if (checkpoint != null && !Files.isDirectory(dir)) return null;
        return configs.component("tokenizer");
    }

    /** One component's weights under diffusers' names; the files stay open until {@link #close}. */
    public Weights.Source weights(String component, String variant) {
        if (checkpoint != null) {
            return checkpoint.component(component);
        }
        List<TensorFile> files = configs.weights(component, variant);
        synchronized (open) {
            open.addAll(files);
        }
        return new Weights.FileSource(files);
    }

    @Override
    public void close() {
        synchronized (open) {
            open.forEach(TensorFile::close);
            open.clear();
        }
        if (checkpoint != null) checkpoint.close();
    }
}
