package io.latentfarm.common.image;

import io.latentfarm.common.SchedulerRegistry;
import io.latentfarm.common.spec.ImageSpec;

import java.math.BigDecimal;
import java.util.Objects;

/**
 * How an image was made, written into its PNG as the {@code parameters} text the way AUTOMATIC1111's
 * web UI writes it (and other Stable Diffusion tools read it):
 * <pre>
 * prompt
 * Negative prompt: neg
 * Steps: 15, Sampler: PNDM, CFG scale: 7.5, Seed: 1024, Size: 512x512, Model: tiny
 * </pre>
 * The negative prompt line is left out when empty, and {@code Model} when unknown. An image whose
 * noise is slice {@code batchPos} of a batch draw also gets {@code , Batch size: N, Batch pos: i}:
 * the seed alone does not reproduce it.
 *
 * @param sampler   the scheduler name ({@code dpmpp_2m_karras}); written as its A1111 label ({@code DPM++ 2M Karras});
 *                  null (not known) leaves the Sampler entry out
 * @param seed      the generator's seed
 * @param batchSize images drawn from that generator (1: the seed alone reproduces the image)
 * @param batchPos  this image's slice of that draw
 * @param device    where it was computed ({@code cpu}, {@code cuda:0}); written as {@code Device} when known
 * @param dtype     the precision ({@code fp32}, {@code fp16}, {@code bf16}); written as {@code Dtype} when known
 */
public record GenerationParameters(String prompt, String negativePrompt, int steps, String sampler, double cfgScale,
                                   long seed, int width, int height, String model, int batchSize, int batchPos,
                                   String device, String dtype) {

    /** Parameters without device and dtype. */
    public GenerationParameters(String prompt, String negativePrompt, int steps, String sampler, double cfgScale,
                                long seed, int width, int height, String model, int batchSize, int batchPos) {
        this(prompt, negativePrompt, steps, sampler, cfgScale, seed, width, height, model, batchSize, batchPos, null, null);
    }

    /** These parameters, naming where and in which precision the image was computed. */
    public GenerationParameters withCompute(String device, String dtype) {
        return new GenerationParameters(prompt, negativePrompt, steps, sampler, cfgScale, seed, width, height, model,
                batchSize, batchPos, device, dtype);
    }

    public GenerationParameters {
        Objects.requireNonNull(prompt, "prompt");
        negativePrompt = negativePrompt == null ? "" : negativePrompt;
    }

    /**
     * The one way an image's parameters are built: from its {@link ImageSpec} as rendered, with
     * {@code sampler} (the short name of the scheduler that ran: the spec's, or the model's own when it
     * names none) and {@code model} (its label).
     */
    public static GenerationParameters of(ImageSpec image, String sampler, String model) {
        return new GenerationParameters(image.prompt(), image.negativePrompt(), image.steps(), sampler,
                image.guidance(), image.seed(), image.width(), image.height(), model, image.batchSize(),
                image.sliceIndex());
    }

    /** The A1111 text. */
    public String toText() {
        StringBuilder text = new StringBuilder(prompt);
        if (!negativePrompt.isEmpty()) {
            text.append("\nNegative prompt: ").append(negativePrompt);
        }
        text.append("\nSteps: ").append(steps);
        if (sampler != null) {
            text.append(", Sampler: ").append(SchedulerRegistry.label(sampler));
        }
        text.append(", CFG scale: ").append(BigDecimal.valueOf(cfgScale).stripTrailingZeros().toPlainString()
                        .replaceFirst("^(-?\\d+)$", "$1.0"))
                .append(", Seed: ").append(seed)
                .append(", Size: ").append(width).append('x').append(height);
        if (model != null && !model.isEmpty()) {
            text.append(", Model: ").append(quote(model));
        }
        if (batchSize > 1) {
            text.append(", Batch size: ").append(batchSize).append(", Batch pos: ").append(batchPos);
        }
        if (device != null && !device.isEmpty()) {
            text.append(", Device: ").append(quote(device));
        }
        if (dtype != null && !dtype.isEmpty()) {
            text.append(", Dtype: ").append(quote(dtype));
        }
        return text.toString();
    }

    // A1111's rule: a value with a comma, colon or newline is written as a JSON string.
    private static String quote(String value) {
        if (value.indexOf(',') < 0 && value.indexOf(':') < 0 && value.indexOf('\n') < 0) {
            return value;
        }
        StringBuilder quoted = new StringBuilder("\"");
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"' -> quoted.append("\\\"");
                case '\\' -> quoted.append("\\\\");
                case '\n' -> quoted.append("\\n");
                case '\r' -> quoted.append("\\r");
                case '\t' -> quoted.append("\\t");
                default -> {
                    if (c < 0x20) {
                        quoted.append(String.format("\\u%04x", (int) c));
                    } else {
                        quoted.append(c);
                    }
                }
            }
        }
        return quoted.append('"').toString();
    }
}
