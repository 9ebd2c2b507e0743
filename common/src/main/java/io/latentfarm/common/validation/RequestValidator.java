package io.latentfarm.common.validation;

import io.latentfarm.common.BatchIds;
import io.latentfarm.common.Excerpt;
import io.latentfarm.common.SchedulerRegistry;
import io.latentfarm.common.message.Message;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.SeedMode;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Checks a {@link RenderRequest} against {@link Limits} and reports every violation at once, each
 * naming the field and the limit ({@code "width: 500 is not a multiple of 8"}), so a user fixes
 * a request in one go. An empty list means the request is valid.
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
        checkPrompts(r, out);
        checkText("negativePrompt", r.negativePrompt(), out);
        boolean countsValid = checkCounts(r, out);
        if (countsValid && !r.prompts().isEmpty() && r.imageCount() % r.prompts().size() != 0) {
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
        checkSeed(r, seedMode.orElse(null), countsValid, out);
        checkModel(r.model(), out);
        return List.copyOf(out);
    }

    /**
     * Checks a job as a worker receives it against the same limits: a job the coordinator wrote from
     * a valid request always passes; anything else on the jobs topic (written by hand, by an older
     * or misconfigured coordinator) is refused before it costs a render.
     */
    public List<Violation> validate(RenderJob job) {
        List<Violation> out = new ArrayList<>();
        checkSchemaVersion(job.schemaVersion(), out);
        checkText("prompt", job.prompt(), out);
        checkText("negativePrompt", job.negativePrompt(), out);
        checkRange("total", job.total(), 1, limits.maxImages(), out);
        checkRange("batchSize", job.batchSize(), 1, limits.maxImages(), out);
        checkRendering(job.steps(), job.guidance(), job.width(), job.height(), job.scheduler(), out);
        if (job.seed() < 0) {
            out.add(new Violation("seed", job.seed() + " is outside 0.." + Long.MAX_VALUE));
        }
        checkModel(job.model(), out);
        return List.copyOf(out);
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

    private void checkPrompts(RenderRequest r, List<Violation> out) {
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

    /** rows/cols/count each in range and consistent; false if N is not usable for further checks. */
    private boolean checkCounts(RenderRequest r, List<Violation> out) {
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
        if (r.count() != null) {
            checkRange("count", r.count(), 1, max, out);
        }
        if (out.size() > before) {
            return false;
        }
        boolean grid = r.rows() != null;
        if (grid && r.count() != null && r.count() != r.rows() * r.cols()) {
            out.add(new Violation("count", r.count() + " does not match rows x cols = "
                    + r.rows() + " x " + r.cols() + " = " + r.rows() * r.cols()));
            return false;
        }
        if (r.imageCount() > max) {
            String field = r.count() != null ? "count" : grid ? "rows" : "prompts";
            String what = grid && r.count() == null ? r.rows() + " x " + r.cols() + " = " + r.imageCount()
                    : String.valueOf(r.imageCount());
            out.add(new Violation(field, what + " images is more than " + max));
            return false;
        }
        return true;
    }

    private void checkSeed(RenderRequest r, SeedMode mode, boolean countsValid, List<Violation> out) {
        Long seed = r.seed();
        if (seed == null) {
            return;
        }
        if (seed < 0) {
            out.add(new Violation("seed", seed + " is outside 0.." + Long.MAX_VALUE));
        } else if (mode == SeedMode.PER_IMAGE && countsValid && seed > Long.MAX_VALUE - (r.imageCount() - 1)) {
            // Image i uses seed + i, which must stay a valid seed too.
            out.add(new Violation("seed", seed + " + " + (r.imageCount() - 1) + " (per-image seeds) exceeds "
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
