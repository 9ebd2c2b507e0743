package io.latentfarm.model.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.spec.ImageSpec;
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
 * diffusers' StableDiffusionPipeline.__call__ for text-to-image, image by image: {@link #render} takes
 * resolved image specs (prompt, parameters, and the image's slice of its generator's draw), encodes
 * their prompts once, runs each step's unconditional and conditional halves in one UNet call, and
 * decodes with the VAE. Holds one loaded model; {@link #render} is safe to call from several threads
 * at once.
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
     * Renders images, each on its own (a UNet batch of 2 with guidance) with its slice of its
     * generator's draw: image i gets exactly the noise it gets in the full diffusers call, also the
     * ancestral step noise. This is the unit workers render and {@code latentfarm generate} uses, so
     * an image's pixels never depend on which other images shared the call (the CPU kernels are not
     * bitwise batch-invariant; {@link #renderBatched} agrees within one level). The prompts are
     * encoded once for the whole call, first ({@link ProgressListener#onPromptsEncoded}).
     *
     * @return one image per spec, in order ({@link RenderedImage#index()} is the position in {@code images})
     * @throws InvalidJobException for parameters that fail the same way on every try
     */
    public List<RenderedImage> render(List<ImageSpec> images, ProgressListener listener) {
        ProgressListener progress = listener == null ? ProgressListener.NONE : listener;
        images.forEach(StableDiffusionPipeline::validate);
        List<RenderedImage> out = new ArrayList<>();
        try (NDManager call = manager.newSubManager()) {
            PromptEmbeddings texts = encodeAll(call, images, progress);
            for (int j = 0; j < images.size(); j++) {
                int done = j;
                ProgressListener overall = new ProgressListener() {
                    @Override
                    public void onStep(int step, int total) {
                        progress.onStep(done * total + step, images.size() * total);
                    }

                    @Override
                    public void onLatents(int step, NDArray latents) {
                        progress.onLatents(step, latents);
                    }
                };
                out.add(denoiseAndDecode(List.of(images.get(j)), j, overall, texts).get(0));
            }
        }
        return out;
    }

    /**
     * Renders compatible images ({@link ImageSpec#compatibleWith}) in one denoising call: one UNet
     * call of batch 2k per step (k without guidance), each image with its own noise. For the slices
     * 0..N-1 of one draw, in order, this is diffusers' {@code pipe(...)} call itself.
     */
    public List<RenderedImage> renderBatched(List<ImageSpec> images, ProgressListener listener) {
        ProgressListener progress = listener == null ? ProgressListener.NONE : listener;
        images.forEach(StableDiffusionPipeline::validate);
        for (ImageSpec image : images) {
            if (!image.compatibleWith(images.get(0))) {
                throw new IllegalArgumentException("images of one denoising call need the same steps, guidance,"
                        + " size and scheduler");
            }
        }
        try (NDManager call = manager.newSubManager()) {
            return denoiseAndDecode(images, 0, progress, encodeAll(call, images, progress));
        }
    }

    /** Invalid parameters fail the same way on every try. */
    private static void validate(ImageSpec image) {
        String error = null;
        if (image.steps() < 1) error = "steps: " + image.steps() + " is below 1";
        else if (image.width() < 8 || image.width() % 8 != 0) error = "width: " + image.width() + " is not a positive multiple of 8";
        else if (image.height() < 8 || image.height() % 8 != 0) error = "height: " + image.height() + " is not a positive multiple of 8";
        else if (!Double.isFinite(image.guidance()) || image.guidance() < 0) error = "guidance: " + image.guidance() + " is not a number >= 0";
        if (error != null) throw new InvalidJobException(error, null);
    }

    /** Encodes every prompt (and negative prompt, with guidance) of the call once, timed. */
    private PromptEmbeddings encodeAll(NDManager call, List<ImageSpec> images, ProgressListener progress) {
        long start = System.nanoTime();
        PromptEmbeddings texts = new PromptEmbeddings(call);
        for (ImageSpec image : images) {
            if (image.classifierFreeGuidance()) texts.get(image.negativePrompt());
            texts.get(image.prompt());
        }
        progress.onPromptsEncoded(System.nanoTime() - start);
        return texts;
    }

    /**
     * The denoising loop over compatible images, numbered from {@code firstIndex}. Noise: one
     * generator for the whole draw when the images are its slices 0..N-1 in order (diffusers' own
     * call); else each image its own batch-row view and its own scheduler state, stepped row by row.
     */
    private List<RenderedImage> denoiseAndDecode(List<ImageSpec> images, int firstIndex, ProgressListener progress,
                                                 PromptEmbeddings texts) {
        int k = images.size();
        ImageSpec first = images.get(0);
        boolean cfg = first.classifierFreeGuidance();
        boolean wholeDraw = first.batchSize() == k;
        for (int j = 0; j < k && wholeDraw; j++) {
            wholeDraw = images.get(j).sliceIndex() == j && images.get(j).seed() == first.seed()
                    && images.get(j).batchSize() == k;
        }
        int rows = wholeDraw ? 1 : k;
        TorchGenerator[] generators = new TorchGenerator[rows];
        Scheduler[] schedulers = new Scheduler[rows];
        try (NDManager job = manager.newSubManager()) {
            for (int r = 0; r < rows; r++) {
                ImageSpec image = images.get(r);
                TorchGenerator g = new TorchGenerator(image.seed());
                generators[r] = wholeDraw || image.batchSize() == 1 ? g : g.batchRow(image.batchSize(), image.sliceIndex());
                schedulers[r] = scheduler(first.scheduler());
                schedulers[r].setTimesteps(first.steps());
            }
            Scheduler scheduler = schedulers[0];
            double[] timesteps = scheduler.timesteps();
            int warmup = timesteps.length - first.steps() * scheduler.order();
            int done = 0;
            NDArray embeddings = embeddings(job, images, cfg, texts);
            long h = first.height() / 8;
            long w = first.width() / 8;
            NDArray noise;
            if (wholeDraw) {
                noise = generators[0].randn(job, new Shape(k, unetInChannels(), h, w));
            } else {
                NDList each = new NDList();
                for (TorchGenerator g : generators) each.add(g.randn(job, new Shape(1, unetInChannels(), h, w)));
                noise = each.size() == 1 ? each.get(0) : NDArrays.concat(each);
            }
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
                        noisePred = uncond.add(halves.get(1).sub(uncond).mul((float) first.guidance()));
                    }
                    NDArray next;
                    if (rows == 1) {
                        next = scheduler.step(noisePred, i, latents, generators[0]);
                    } else {
                        NDList each = new NDList();
                        for (int r = 0; r < rows; r++) {
                            NDIndex row = new NDIndex("{}:{}", r, r + 1);
                            each.add(schedulers[r].step(noisePred.get(row), i, latents.get(row), generators[r]));
                        }
                        next = NDArrays.concat(each);
                    }
                    next.attach(job);
                    progress.onLatents(i, next);
                    latents = next;
                }
                // diffusers' progress bar: the steps the user asked for, so a second-order
                // scheduler's extra model calls (Heun: 2n - 1) and PNDM's repeated first timestep
                // (n + 1 calls) count once; onLatents above sees every call
                if (i == timesteps.length - 1 || (i + 1 > warmup && (i + 1) % scheduler.order() == 0)) {
                    progress.onStep(++done, first.steps());
                }
            }
            List<RenderedImage> decoded = new ArrayList<>();
            for (int j = 0; j < k; j++) {
                decoded.add(decode(job, latents, j, firstIndex + j, first));
            }
            return decoded;
        } finally {
            for (Scheduler s : schedulers) {
                if (s != null) s.close();
            }
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
    private NDArray embeddings(NDManager job, List<ImageSpec> images, boolean cfg, PromptEmbeddings texts) {
        NDList rows = new NDList();
        if (cfg) {
            for (ImageSpec image : images) rows.add(texts.get(image.negativePrompt()));
        }
        for (ImageSpec image : images) {
            rows.add(texts.get(image.prompt()));
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

    private RenderedImage decode(NDManager job, NDArray latents, int row, int index, ImageSpec spec) {
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
            return new RenderedImage(index, spec.width(), spec.height(), rgb);
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
