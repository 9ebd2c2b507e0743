package io.latentfarm.common.validation;

import io.latentfarm.common.BatchIds;
import io.latentfarm.common.Excerpt;
import io.latentfarm.common.SchedulerRegistry;
import io.latentfarm.common.message.Message;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.SeedMode;
import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.common.spec.PromptFile;
import io.latentfarm.common.spec.PromptLine;
import io.latentfarm.common.spec.RenderSpec;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The one validator of render options: checks a {@link RenderRequest}, a {@link RenderSpec} (what
 * {@code generate} renders), an {@link ImageSpec} or a job, and each line of a prompt file, against
 * {@link Limits}, and reports every violation at once, each naming the field and the limit
 * ({@code "width: 500 is not a multiple of 8"}), so a user fixes a request in one go. An empty list
 * means valid.
 */
public final class RequestValidator {
    private final Limits limits;

    public RequestValidator(Limits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    public RequestValidator() {
        this(Limits.DEFAULTS);
    }

    public Limits limits() {
        return limits;
    }

    public List<Violation> validate(RenderRequest r) {
        List<Violation> out = new ArrayList<>();
        checkSchemaVersion(r.schemaVersion(), out);
        if (r.batchId() != null && !BatchIds.isValid(r.batchId())) {
            out.add(new Violation("batchId", Excerpt.quote(r.batchId()) + " must be 1 to 64 of A-Z a-z 0-9 _ -"));
        }
        if (r.hasPromptFile()) {
            checkPromptsUri(r, out);
        }
        checkSpec(r.spec(), r.hasPromptFile(), out);
        checkModel(r.model(), out);
        return List.copyOf(out);
    }

    /** A spec alone, as {@code generate} renders it: every field of {@link #validate(RenderRequest)} but who asks. */
    public List<Violation> validate(RenderSpec spec) {
        List<Violation> out = new ArrayList<>();
        checkSpec(spec, false, out);
        return List.copyOf(out);
    }

    /**
     * One resolved image, for callers that build image specs themselves (a prompt file's lines, jobs):
     * prompt, negative prompt, what the denoising call takes, and the noise.
     */
    public List<Violation> validate(ImageSpec image) {
        List<Violation> out = new ArrayList<>();
        checkImage(image, out);
        return List.copyOf(out);
    }

    /**
     * One prompt-file line with its own overrides on top of the request's spec ({@code base}): each
     * field it sets, named as in the line ({@code steps: 0 is outside 1..150}).
     */
    public List<Violation> validate(PromptLine line, RenderSpec base) {
        List<Violation> out = new ArrayList<>();
        if (line.prompt() == null) {
            out.add(new Violation("prompt", "required"));
        } else {
            checkText("prompt", line.prompt(), out);
        }
        if (line.negativePrompt() != null) {
            checkText("negativePrompt", line.negativePrompt(), out);
        }
        RenderSpec resolved = line.applyTo(base);
        checkRendering(resolved.steps(), resolved.guidance(), resolved.width(), resolved.height(),
                resolved.scheduler(), out);
        if (line.count() != null) {
            checkRange("count", line.count(), 1, limits.maxImages(), out);
        }
        if (line.seed() != null && line.seed() < 0) {
            out.add(new Violation("seed", line.seed() + " is outside 0.." + Long.MAX_VALUE));
        }
        if (line.id() != null && !BatchIds.isValid(line.id())) {
            out.add(new Violation("id", Excerpt.quote(line.id()) + " must be 1 to 64 of A-Z a-z 0-9 _ -"));
        }
        return List.copyOf(out);
    }

    /**
     * What only the whole prompt file tells: its image count N within {@code maxImages}, a grid
     * ({@code rows x cols}) that holds exactly N, and per-image seeds that stay valid up to N - 1.
     */
    public List<Violation> validateTotal(RenderSpec base, long images) {
        List<Violation> out = new ArrayList<>();
        if (images < 1) {
            out.add(new Violation("promptsUri", "the file has no prompts"));
        } else if (images > limits.maxImages()) {
            out.add(new Violation("promptsUri", "more than " + limits.maxImages() + " images"));
        } else if (base.hasGrid() && (long) base.rows() * base.cols() != images) {
            out.add(new Violation("rows", "rows x cols = " + base.rows() + " x " + base.cols() + " = "
                    + (long) base.rows() * base.cols() + " does not match the file's " + images + " images"));
        }
        if (base.seed() != null && SeedMode.parse(base.seedMode()).orElse(null) == SeedMode.PER_IMAGE) {
            checkSeed(base.seed(), images, out);
        }
        return List.copyOf(out);
    }

    private void checkSpec(RenderSpec r, boolean promptFile, List<Violation> out) {
        if (promptFile) {
            if (!r.prompts().isEmpty()) {
                out.add(new Violation("promptsUri", "give prompts or promptsUri, not both"));
            }
            if (r.count() != null) {
                out.add(new Violation("count", "comes from the prompt file (each line's count, 1 by default)"));
            }
        } else {
            checkPrompts(r, out);
        }
        checkText("negativePrompt", r.negativePrompt(), out);
        boolean countsValid = checkCounts(r, promptFile, out);
        if (!promptFile && countsValid && !r.prompts().isEmpty() && r.imageCount() % r.prompts().size() != 0) {
            out.add(new Violation("prompts", r.prompts().size() + " prompts do not divide " + r.imageCount()
                    + " images evenly (each prompt gets the same number of images)"));
        }
        checkRendering(r.steps(), r.guidance(), r.width(), r.height(), r.scheduler(), out);
        var seedMode = SeedMode.parse(r.seedMode());
        if (seedMode.isEmpty()) {
            out.add(new Violation("seedMode", Excerpt.quote(r.seedMode()) + " is not one of "
                    + java.util.Arrays.stream(SeedMode.values()).map(SeedMode::wireName)
                    .collect(Collectors.joining(", "))));
        }
        if (r.seed() != null) {
            checkSeed(r.seed(), seedMode.orElse(null) == SeedMode.PER_IMAGE && countsValid && !promptFile
                    ? r.imageCount() : 1, out);
        }
    }

    /**
     * Checks a job as a worker receives it against the same limits: a job the coordinator wrote from
     * a valid request always passes; anything else on the jobs topic (written by hand, by an older
     * or misconfigured coordinator) is refused before it costs a render.
     */
    public List<Violation> validate(RenderJob job) {
        List<Violation> out = new ArrayList<>();
        checkSchemaVersion(job.schemaVersion(), out);
        checkRange("total", job.total(), 1, limits.maxImages(), out);
        checkImage(job.image(), out);
        checkModel(job.model(), out);
        return List.copyOf(out);
    }

    private void checkImage(ImageSpec image, List<Violation> out) {
        checkText("prompt", image.prompt(), out);
        checkText("negativePrompt", image.negativePrompt(), out);
        checkRange("batchSize", image.batchSize(), 1, limits.maxImages(), out);
        checkRendering(image.steps(), image.guidance(), image.width(), image.height(), image.scheduler(), out);
        if (image.seed() < 0) {
            out.add(new Violation("seed", image.seed() + " is outside 0.." + Long.MAX_VALUE));
        }
        if (image.id() != null && !BatchIds.isValid(image.id())) {
            out.add(new Violation("id", Excerpt.quote(image.id()) + " must be 1 to 64 of A-Z a-z 0-9 _ -"));
        }
    }

    /** {@code s3://bucket/key} with a key whose extension names a prompt-file format. */
    private static void checkPromptsUri(RenderRequest r, List<Violation> out) {
        try {
            PromptFile.Location.parse(r.promptsUri());
        } catch (IllegalArgumentException e) {
            out.add(new Violation("promptsUri", e.getMessage()));
        }
    }

    private static void checkSchemaVersion(int version, List<Violation> out) {
        if (version > Message.SCHEMA_VERSION) {
            out.add(new Violation("schemaVersion", version + " is newer than " + Message.SCHEMA_VERSION));
        } else if (version < 1) {
            out.add(new Violation("schemaVersion", version + " is outside 1.." + Message.SCHEMA_VERSION));
        }
    }

    /** What one denoising call takes: steps, guidance, size and scheduler. */
    private void checkRendering(int steps, double guidance, int width, int height, String scheduler,
                                List<Violation> out) {
        checkRange("steps", steps, 1, limits.maxSteps(), out);
        if (!Double.isFinite(guidance) || guidance < limits.minGuidance() || guidance > limits.maxGuidance()) {
            out.add(new Violation("guidance", number(guidance) + " is outside "
                    + number(limits.minGuidance()) + ".." + number(limits.maxGuidance())));
        }
        checkSize("width", width, limits.maxWidth(), out);
        checkSize("height", height, limits.maxHeight(), out);
        if (scheduler != null && !SchedulerRegistry.isKnown(scheduler)) {
            out.add(new Violation("scheduler", Excerpt.quote(scheduler) + " is not one of "
                    + String.join(", ", SchedulerRegistry.names())));
        }
    }

    private static void checkModel(String model, List<Violation> out) {
        if (model != null && (model.isBlank() || model.length() > 256)) {
            out.add(new Violation("model", "must be 1 to 256 characters when given"));
        }
    }

    private void checkPrompts(RenderSpec r, List<Violation> out) {
        List<String> prompts = r.prompts();
        if (prompts.isEmpty()) {
            out.add(new Violation("prompt", "required"));
            return;
        }
        for (int i = 0; i < prompts.size(); i++) {
            String field = prompts.size() == 1 ? "prompt" : "prompts[" + i + "]";
            if (prompts.get(i) == null) {
                out.add(new Violation(field, "required"));
            } else {
                checkText(field, prompts.get(i), out);
            }
        }
    }

    private void checkText(String field, String text, List<Violation> out) {
        if (text.length() > limits.maxPromptChars()) {
            out.add(new Violation(field, text.length() + " characters is more than " + limits.maxPromptChars()));
        }
        int unpaired = unpairedSurrogate(text);
        if (unpaired >= 0) {
            // JSON's \ud800 escapes can say it; UTF-8 (the topics, the PNG text chunk) cannot.
            out.add(new Violation(field, "has an unpaired UTF-16 surrogate at character " + unpaired));
        }
    }

    /** The index of the first surrogate that is not half of a pair, or -1. */
    private static int unpairedSurrogate(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * rows/cols/count each in range and consistent; false if N is not usable for further checks. A
     * prompt file brings its own N.
     */
    private boolean checkCounts(RenderSpec r, boolean promptFile, List<Violation> out) {
        int before = out.size();
        int max = limits.maxImages();
        if ((r.rows() == null) != (r.cols() == null)) {
            String missing = r.rows() == null ? "rows" : "cols";
            out.add(new Violation(missing, "required with " + (r.rows() == null ? "cols" : "rows")));
        }
        if (r.rows() != null) {
            checkRange("rows", r.rows(), 1, max, out);
        }
        if (r.cols() != null) {
            checkRange("cols", r.cols(), 1, max, out);
        }
        if (r.count() != null && !promptFile) {
            checkRange("count", r.count(), 1, max, out);
        }
        if (out.size() > before) {
            return false;
        }
        boolean grid = r.hasGrid();
        if (grid && (long) r.rows() * r.cols() > max) {
            out.add(new Violation("rows", r.rows() + " x " + r.cols() + " = " + (long) r.rows() * r.cols()
                    + " images is more than " + max));
            return false;
        }
        if (promptFile) {
            return true;
        }
        if (grid && r.count() != null && r.count() != r.rows() * r.cols()) {
            out.add(new Violation("count", r.count() + " does not match rows x cols = "
                    + r.rows() + " x " + r.cols() + " = " + r.rows() * r.cols()));
            return false;
        }
        if (r.imageCount() > max) {
            String field = r.count() != null ? "count" : "prompts";
            out.add(new Violation(field, r.imageCount() + " images is more than " + max));
            return false;
        }
        return true;
    }

    /** A seed, and with per-image seeds the last image's {@code seed + images - 1}, stay valid seeds. */
    private static void checkSeed(long seed, long images, List<Violation> out) {
        if (seed < 0) {
            out.add(new Violation("seed", seed + " is outside 0.." + Long.MAX_VALUE));
        } else if (images > 1 && seed > Long.MAX_VALUE - (images - 1)) {
            out.add(new Violation("seed", seed + " + " + (images - 1) + " (per-image seeds) exceeds "
                    + Long.MAX_VALUE));
        }
    }

    private void checkSize(String field, int value, int max, List<Violation> out) {
        if (value % 8 != 0) {
            out.add(new Violation(field, value + " is not a multiple of 8"));
        }
        checkRange(field, value, limits.minSize(), max, out);
    }

    private static void checkRange(String field, int value, int min, int max, List<Violation> out) {
        if (value < min || value > max) {
            out.add(new Violation(field, value + " is outside " + min + ".." + max));
        }
    }

    // 7.5 -> "7.5", 30.0 -> "30", never scientific notation.
    private static String number(double d) {
        if (!Double.isFinite(d)) {
            return String.valueOf(d);
        }
        return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }
}
