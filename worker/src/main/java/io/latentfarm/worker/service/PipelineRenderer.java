package io.latentfarm.worker.service;

import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.model.files.ModelFiles;
import io.latentfarm.model.pipeline.PipelineOptions;
import io.latentfarm.model.pipeline.ProgressListener;
import io.latentfarm.model.pipeline.RenderedImage;
import io.latentfarm.model.pipeline.StableDiffusionPipeline;
import io.latentfarm.model.text.ClipTokenizer;
import io.latentfarm.model.text.ClipTokens;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** The Stable Diffusion pipeline as the worker's {@link ImageRenderer}: one model, loaded once. */
public final class PipelineRenderer implements ImageRenderer {
    private final StableDiffusionPipeline pipeline;
    private final String modelId;

    public PipelineRenderer(StableDiffusionPipeline pipeline, String modelId) {
        this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
        this.modelId = modelId(pipeline.modelLabel(), modelId);
    }

    /**
     * Loads the model folder.
     *
     * @param modelId the label for results and PNGs; null: the folder's name (what {@code latentfarm generate} writes)
     */
    public static PipelineRenderer load(Path modelDir, PipelineOptions options, String modelId) {
        return new PipelineRenderer(StableDiffusionPipeline.load(modelDir, options), modelId);
    }

    /** Loads a resolved model (folder, hub repo id or single file). */
    public static PipelineRenderer load(ModelFiles model, PipelineOptions options, String modelId) {
        return new PipelineRenderer(StableDiffusionPipeline.load(model, options), modelId);
    }

    @Override
    public List<RenderedImage> render(List<ImageSpec> images, ProgressListener listener) {
        return pipeline.render(images, listener);
    }

    /**
     * The texts the text encoder will not see whole: like diffusers, the pipeline cuts them to the
     * tokenizer's {@code model_max_length}. The negative prompt only counts with classifier-free
     * guidance (guidance above 1), the only time it is encoded.
     */
    @Override
    public List<String> warnings(RenderJob job) {
        List<String> out = new ArrayList<>();
        addTruncation(out, "prompt", job.prompt());
        if (job.guidance() > 1.0) {
            addTruncation(out, "negativePrompt", job.negativePrompt());
        }
        return out;
    }

    private void addTruncation(List<String> out, String field, String text) {
        ClipTokenizer tokenizer = pipeline.tokenizer();
        ClipTokens tokens = tokenizer.encode(text);
        if (tokens.truncated()) {
            out.add(field + ": " + tokens.tokens() + " CLIP tokens, truncated to " + tokenizer.maxLength());
        }
    }

    @Override
    public String schedulerName(String requested) {
        return pipeline.schedulerName(requested);
    }

    @Override
    public String modelId() {
        return modelId;
    }

    @Override
    public String device() {
        return pipeline.options().deviceName();
    }

    @Override
    public String dtype() {
        return pipeline.options().dtypeName();
    }

    /** The id a model is known by: the one given, else the model's label ({@link ModelFiles#label}). */
    public static String modelId(String label, String modelId) {
        return modelId != null && !modelId.isBlank() ? modelId : label;
    }

    @Override
    public void close() {
        pipeline.close();
    }
}
