package io.latentfarm.model.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.model.files.ModelFolder;
import io.latentfarm.model.files.ModelFiles;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.random.TorchGenerator;
import io.latentfarm.model.scheduler.Scheduler;
import io.latentfarm.model.scheduler.SchedulerFactory;
import io.latentfarm.model.text.ClipTextConfig;
import io.latentfarm.model.text.ClipTextModel;
import io.latentfarm.model.text.ClipTokenizer;
import io.latentfarm.model.unet.UNet2DConditionModel;
import io.latentfarm.model.unet.UNetConfig;
import io.latentfarm.model.vae.AutoencoderKL;
import io.latentfarm.model.vae.VaeConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * diffusers' StableDiffusionPipeline.__call__ for text-to-image: prompts and negative prompt are
 * encoded once, latents are drawn from one seeded generator over the whole batch, each step runs
 * the unconditional and conditional halves in one UNet call, and the VAE decodes the result.
 * Holds one loaded model; {@link #generate} is safe to call from several threads at once.
 */
public final class StableDiffusionPipeline implements AutoCloseable {
    private final ModelFiles model;
    private final ModelFolder folder;
    private final PipelineOptions options;
    private final NDManager manager;
    private final ClipTokenizer tokenizer;
    private final ClipTextModel textEncoder;
    private final UNet2DConditionModel unet;
    private final AutoencoderKL vae;
    private final VaeConfig vaeConfig;
    /** fp16 pipelines may decode in float32 (force_upcast); bf16 ones run the VAE mixed like the UNet */
    private final DataType vaeDType;
    private final JsonNode schedulerConfig;

    private StableDiffusionPipeline(ModelFiles model, PipelineOptions options) {
        this.model = model;
        this.folder = model.configs();
        this.options = options;
        this.manager = NDManager.newBaseManager(options.device());
        try {
            Path tokenizerDir = model.tokenizerDir();
            this.tokenizer = tokenizerDir != null ? ClipTokenizer.load(tokenizerDir) : ClipTokenizer.bundled();
            this.textEncoder = new ClipTextModel(weights("text_encoder", options.dtype()),
                    ClipTextConfig.from(folder.config("text_encoder")));
            this.unet = new UNet2DConditionModel(UNetConfig.fromJson(folder.config("unet")),
                    weights("unet", options.dtype()));
            this.vaeConfig = VaeConfig.fromJson(folder.config("vae"));
            this.vaeDType = options.vaeDType(vaeConfig.forceUpcast());
            this.vae = new AutoencoderKL(vaeConfig, weights("vae", vaeDType));
            this.schedulerConfig = folder.config("scheduler");
            checkFolderScheduler();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Loads a diffusers folder. */
    public static StableDiffusionPipeline load(Path modelDir, PipelineOptions options) {
        return load(ModelFiles.folder(modelDir), options);
    }

    /** Loads a resolved model (folder, hub cache snapshot or single file); the pipeline closes it. */
    public static StableDiffusionPipeline load(ModelFiles model, PipelineOptions options) {
        try {
            return new StableDiffusionPipeline(model, options);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private Weights weights(String component, DataType dtype) {
        return new Weights(model.weights(component, options.variant()), manager, dtype);
    }

    /** Where the configs came from (the folder itself, --config, or the bundled SD v1 configs). */
    public ModelFolder folder() {
        return folder;
    }

    /** The model's name for PNG parameters and results: folder name, repo id or checkpoint file stem. */
    public String modelLabel() {
        return model.label();
    }

    public PipelineOptions options() {
        return options;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public JsonNode schedulerConfig() {
        return schedulerConfig;
    }

    /**
     * Refuses, at load time, a folder scheduler whose class is implemented but whose config carries
     * an option no implemented sampler supports, naming the file and the key. An unknown class only
     * fails a render that needs it (one without a scheduler name).
     */
    private void checkFolderScheduler() {
        String cls = schedulerConfig.path("_class_name").asText("");
        if (!SchedulerFactory.isImplemented(cls)) return;
        try (Scheduler ignored = SchedulerFactory.createFromClassName(schedulerConfig)) {
            // constructed: every option it carries is supported
        } catch (RuntimeException e) {
            throw new io.latentfarm.model.files.ModelException(schedulerFile() + ": " + e.getMessage(), e);
        }
    }

    private java.nio.file.Path schedulerFile() {
        return folder.dir().resolve("scheduler/scheduler_config.json");
    }

    /**
     * The scheduler a render with {@code requested} (a short name; null: the model's own) runs,
     * configured from the folder's scheduler config as diffusers' {@code from_config} does.
     *
     * @throws InvalidJobException for an unknown name, or a class or option not implemented
     */
    public Scheduler scheduler(String requested) {
        try {
            return requested == null ? SchedulerFactory.createFromClassName(schedulerConfig)
                    : SchedulerFactory.create(requested, schedulerConfig);
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            String what = requested == null ? schedulerFile() + " (the model's own scheduler)" : "scheduler '" + requested + "'";
            throw new InvalidJobException(what + ": " + e.getMessage(), e);
        }
    }

    /**
     * The short name of the scheduler a render with {@code requested} runs (null: the model's own),
     * the name PNG parameters and results report: the registry entry its resolved config is, so
     * {@code euler} on a folder with Karras sigmas is {@code euler_karras}, as it draws.
     */
    public String schedulerName(String requested) {
        try (Scheduler s = scheduler(requested)) {
            return SchedulerFactory.nameOf(s);
        }
    }

    /**
     * Every image of the request in one call, as diffusers' {@code pipe(...)} runs it: one UNet
     * call of batch 2N per step (N without guidance), one generator for the whole batch.
     */
    public List<RenderedImage> generate(GenerationRequest request, ProgressListener listener) {
        validate(request);
        int[] all = new int[request.batchSize()];
        for (int i = 0; i < all.length; i++) all[i] = i;
        try (NDManager call = manager.newSubManager()) {
            return denoiseAndDecode(request, all, new TorchGenerator(request.seed()),
                    listener == null ? ProgressListener.NONE : listener, new PromptEmbeddings(call));
        }
    }

    /**
     * The images {@code indices} of the request, each rendered on its own (a UNet batch of 2) with
     * its slice of the batch's noise: image i gets exactly the noise it gets in the one-call batch,
     * also the ancestral step noise. This is the unit workers render and {@code latentfarm
     * generate} uses, so an image's pixels never depend on which other images shared its batch
     * (the CPU kernels are not bitwise batch-invariant; the one-call batch agrees within one level).
     */
    public List<RenderedImage> generate(GenerationRequest request, int[] indices, ProgressListener listener) {
        validate(request);
        ProgressListener progress = listener == null ? ProgressListener.NONE : listener;
        int n = request.batchSize();
        for (int i : indices) {
            if (i < 0 || i >= n) {
                throw new IllegalArgumentException("image index " + i + " is outside 0.." + (n - 1));
            }
        }
        List<RenderedImage> out = new ArrayList<>();
        try (NDManager call = manager.newSubManager()) {
            // each prompt is encoded once for all the images of the call
            PromptEmbeddings texts = new PromptEmbeddings(call);
            for (int j = 0; j < indices.length; j++) {
                int done = j;
                ProgressListener overall = new ProgressListener() {
                    @Override
                    public void onStep(int step, int total) {
                        progress.onStep(done * total + step, indices.length * total);
                    }

                    @Override
                    public void onLatents(int step, NDArray latents) {
                        progress.onLatents(step, latents);
                    }

                    @Override
                    public void onPromptsEncoded() {
                        progress.onPromptsEncoded();
                    }
                };
                TorchGenerator row = new TorchGenerator(request.seed()).batchRow(n, indices[j]);
                out.addAll(denoiseAndDecode(request, new int[]{indices[j]}, row, overall, texts));
            }
        }
        return out;
    }

    /** Invalid parameters fail the same way on every try. */
    private static void validate(GenerationRequest request) {
        try {
            request.validate();
        } catch (IllegalArgumentException e) {
            throw new InvalidJobException(e.getMessage(), e);
        }
    }

    /**
     * The denoising loop over the images {@code indices}; {@code generator} draws noise of their
     * shape (the full generator for the whole batch, a batch-row view for one image).
     */
    private List<RenderedImage> denoiseAndDecode(GenerationRequest request, int[] indices, TorchGenerator generator,
                                                 ProgressListener progress, PromptEmbeddings texts) {
        int k = indices.length;
        boolean cfg = request.classifierFreeGuidance();
        try (Scheduler scheduler = scheduler(request.scheduler());
             NDManager job = manager.newSubManager()) {
            scheduler.setTimesteps(request.steps());
            double[] timesteps = scheduler.timesteps();
            int warmup = timesteps.length - request.steps() * scheduler.order();
            int done = 0;
            NDArray embeddings = encodePrompts(job, request, indices, cfg, texts);
            progress.onPromptsEncoded();
            Shape latentShape = new Shape(k, unetInChannels(), request.height() / 8, request.width() / 8);
            NDArray noise = generator.randn(job, latentShape);
            NDArray latents = noise.mul((float) scheduler.initNoiseSigma());
            noise.close();
            for (int i = 0; i < timesteps.length; i++) {
                try (NDManager step = job.newSubManager()) {
                    // results land in the manager of an op's first input: move the step's inputs
                    // into the step's manager so everything but the new latents dies with it
                    latents.attach(step);
                    NDArray modelInput = cfg ? NDArrays.concat(new NDList(latents, latents)) : latents;
                    modelInput = scheduler.scaleModelInput(modelInput, i);
                    NDArray t = step.full(new Shape(modelInput.getShape().get(0)), (float) timesteps[i]);
                    NDArray noisePred = unet.forward(toCompute(modelInput), t, embeddings);
                    if (noisePred.getDataType() != DataType.FLOAT32) {
                        noisePred = noisePred.toType(DataType.FLOAT32, false);
                    }
                    if (cfg) {
                        NDList halves = noisePred.split(2);
                        NDArray uncond = halves.get(0);
                        noisePred = uncond.add(halves.get(1).sub(uncond).mul((float) request.guidance()));
                    }
                    NDArray next = scheduler.step(noisePred, i, latents, generator);
                    next.attach(job);
                    progress.onLatents(i, next);
                    latents = next;
                }
                // diffusers' progress bar: the steps the user asked for, so a second-order
                // scheduler's extra model calls (Heun: 2n - 1) and PNDM's repeated first timestep
                // (n + 1 calls) count once; onLatents above sees every call
                if (i == timesteps.length - 1 || (i + 1 > warmup && (i + 1) % scheduler.order() == 0)) {
                    progress.onStep(++done, request.steps());
                }
            }
            List<RenderedImage> images = new ArrayList<>();
            for (int j = 0; j < k; j++) {
                images.add(decode(job, latents, j, indices[j], request));
            }
            return images;
        }
    }

    /** x in the UNet's activation dtype (float32 latents stay float32 for fp32 and bf16). */
    private NDArray toCompute(NDArray x) {
        return toType(x, options.activationDType());
    }

    private static NDArray toType(NDArray x, DataType dtype) {
        return x.getDataType() == dtype ? x : x.toType(dtype, false);
    }

    private int unetInChannels() {
        return unet.config().inChannels();
    }

    /** [uncond rows; cond rows] (or cond rows alone without guidance), one row per image. */
    private NDArray encodePrompts(NDManager job, GenerationRequest request, int[] indices, boolean cfg,
                                  PromptEmbeddings texts) {
        NDList rows = new NDList();
        if (cfg) {
            NDArray uncond = texts.get(request.negativePrompt());
            for (int ignored : indices) rows.add(uncond);
        }
        for (int i : indices) {
            rows.add(texts.get(request.promptOf(i)));
        }
        if (rows.size() == 1) {
            return rows.get(0);
        }
        NDArray all = NDArrays.concat(rows);
        all.attach(job);
        return all;
    }

    /** Text embeddings [1, 77, D] in the compute dtype, one per distinct prompt, for one call. */
    private final class PromptEmbeddings {
        private final NDManager call;
        private final Map<String, NDArray> byPrompt = new HashMap<>();

        PromptEmbeddings(NDManager call) {
            this.call = call;
        }

        NDArray get(String prompt) {
            return byPrompt.computeIfAbsent(prompt, p -> {
                try (NDManager scratch = call.newSubManager()) {
                    long[] ids = tokenizer.encode(p).ids();
                    NDArray hidden = toCompute(textEncoder.forward(scratch.create(ids, new Shape(1, ids.length))));
                    hidden.attach(call);
                    return hidden;
                }
            });
        }
    }

    private RenderedImage decode(NDManager job, NDArray latents, int row, int index, GenerationRequest request) {
        try (NDManager sub = job.newSubManager()) {
            NDArray z = latents.get(new NDIndex("{}:{}", row, row + 1));
            z.attach(sub);
            NDArray scaled = toType(z.div((float) vaeConfig.scalingFactor()), PipelineOptions.activationDType(vaeDType));
            NDArray image = vae.decode(scaled);
            if (image.getDataType() != DataType.FLOAT32) image = image.toType(DataType.FLOAT32, false);
            image.attach(sub);
            // diffusers: (x / 2 + 0.5).clamp(0, 1), NHWC, (x * 255).round() -> uint8
            NDArray pixels = image.div(2f).add(0.5f).clip(0f, 1f)
                    .transpose(0, 2, 3, 1).mul(255f).round().toType(DataType.UINT8, false);
            byte[] rgb = pixels.toByteArray();
            return new RenderedImage(index, request.width(), request.height(), rgb);
        }
    }

    /** Arrays alive in the pipeline's manager: the weights, and nothing else between calls. */
    int openArrayCount() {
        return ((ai.djl.ndarray.BaseNDManager) manager).getManagedArrays().size();
    }

    @Override
    public void close() {
        manager.close();
        model.close();
    }
}
