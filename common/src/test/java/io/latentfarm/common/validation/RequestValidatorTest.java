package io.latentfarm.common.validation;

import io.latentfarm.common.SchedulerRegistry;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RequestValidatorTest {
    // A deployment that allows 64 images a batch, so the count limits are easy to read.
    private final RequestValidator validator = new RequestValidator(Limits.DEFAULTS.withMaxImages(64));

    private static RenderRequest.Builder valid() {
        return RenderRequest.builder().prompt("Craftsman, Moroccan Ghibli studio style").grid(4, 3).steps(15).seed(1024L);
    }

    private List<String> violations(RenderRequest.Builder request) {
        return validator.validate(request.build()).stream().map(Violation::toString).toList();
    }

    @Test
    void theNotebookRequestIsValid() {
        assertEquals(List.of(), violations(valid()));
        assertEquals(List.of(), violations(RenderRequest.builder().prompt("a")));
    }

    @Test
    void everyViolationIsReportedAtOnce() {
        List<String> v = violations(valid().steps(0).size(500, 2048).scheduler("foo").guidance(-1));
        assertEquals(List.of(
                "steps: 0 is outside 1..150",
                "guidance: -1 is outside 0..30",
                "width: 500 is not a multiple of 8",
                "height: 2048 is outside 64..1024",
                "scheduler: \"foo\" is not one of " + String.join(", ", SchedulerRegistry.names())), v);
    }

    @Test
    void promptIsRequired() {
        assertEquals(List.of("prompt: required"), violations(valid().prompts(List.of())));
        assertEquals(List.of("prompt: required"), violations(valid().prompts(null)));
        assertEquals(List.of("prompts[1]: required"),
                violations(valid().prompts(Arrays.asList("a", null)).grid(1, 2)));
    }

    @Test
    void promptsHaveAMaximumLength() {
        String longText = "x".repeat(2001);
        assertEquals(List.of("prompt: 2001 characters is more than 2000"), violations(valid().prompt(longText)));
        assertEquals(List.of("prompts[0]: 2001 characters is more than 2000"),
                violations(valid().prompts(List.of(longText, "b")).grid(1, 2)));
        assertEquals(List.of("negativePrompt: 2001 characters is more than 2000"),
                violations(valid().negativePrompt(longText)));
        assertEquals(List.of(), violations(valid().prompt("x".repeat(2000))));
    }

    @Test
    void stepsRange() {
        assertEquals(List.of(), violations(valid().steps(1)));
        assertEquals(List.of(), violations(valid().steps(150)));
        assertEquals(List.of("steps: 151 is outside 1..150"), violations(valid().steps(151)));
        assertEquals(List.of("steps: -3 is outside 1..150"), violations(valid().steps(-3)));
    }

    @Test
    void guidanceRange() {
        assertEquals(List.of(), violations(valid().guidance(0)));
        assertEquals(List.of(), violations(valid().guidance(1)));
        assertEquals(List.of(), violations(valid().guidance(30)));
        assertEquals(List.of("guidance: 30.5 is outside 0..30"), violations(valid().guidance(30.5)));
        assertEquals(List.of("guidance: NaN is outside 0..30"), violations(valid().guidance(Double.NaN)));
        assertEquals(List.of("guidance: Infinity is outside 0..30"),
                violations(valid().guidance(Double.POSITIVE_INFINITY)));
    }

    @Test
    void sizesAreMultiplesOf8WithinLimits() {
        assertEquals(List.of(), violations(valid().size(64, 1024)));
        assertEquals(List.of(), violations(valid().size(768, 512)));
        assertEquals(List.of("width: 1032 is outside 64..1024"), violations(valid().size(1032, 512)));
        assertEquals(List.of("height: 56 is outside 64..1024"), violations(valid().size(512, 56)));
        assertEquals(List.of("width: 0 is outside 64..1024"), violations(valid().size(0, 512)));
        assertEquals(List.of("width: 63 is not a multiple of 8", "width: 63 is outside 64..1024"),
                violations(valid().size(63, 512)));
    }

    @Test
    void everyKnownSchedulerIsAccepted() {
        for (String s : SchedulerRegistry.names()) {
            assertEquals(List.of(), violations(valid().scheduler(s)), s);
        }
        assertEquals(List.of("scheduler: \"PNDM\" is not one of " + String.join(", ", SchedulerRegistry.names())),
                violations(valid().scheduler("PNDM")));
        assertEquals(List.of(), violations(valid().scheduler(null)), "no scheduler: the model's own");
    }

    @Test
    void gridNeedsBothRowsAndCols() {
        assertEquals(List.of("cols: required with rows"), violations(valid().grid(2, null)));
        assertEquals(List.of("rows: required with cols"), violations(valid().grid(null, 2)));
        assertEquals(List.of("rows: 0 is outside 1..64", "cols: 65 is outside 1..64"), violations(valid().grid(0, 65)));
    }

    @Test
    void imageCountLimits() {
        assertEquals(List.of("rows: 8 x 9 = 72 images is more than 64"), violations(valid().grid(8, 9)));
        assertEquals(List.of(), violations(valid().grid(8, 8)));
        RequestValidator defaults = new RequestValidator();
        assertEquals(List.of("count: 0 is outside 1..1000000"), strings(defaults.validate(valid().grid(null, null)
                .count(0).build())));
        assertEquals(List.of("count: 1000001 is outside 1..1000000"), strings(defaults.validate(valid().grid(null, null)
                .count(1_000_001).build())));
        assertEquals(List.of(), strings(defaults.validate(valid().grid(null, null).count(1_000_000).build())));
        assertEquals(List.of("count: 5 does not match rows x cols = 4 x 3 = 12"), violations(valid().count(5)));
        assertEquals(List.of(), violations(valid().count(12)));
        List<String> many = java.util.Collections.nCopies(65, "p");
        RequestValidator small = new RequestValidator(Limits.DEFAULTS.withMaxImages(64));
        assertEquals(List.of("prompts: 65 images is more than 64"), small.validate(valid().grid(null, null).prompts(many)
                .build()).stream().map(Violation::toString).toList());
    }

    @Test
    void theDefaultLimitAllowsAMillionImages() {
        RequestValidator defaults = new RequestValidator();
        assertEquals(List.of(), defaults.validate(valid().grid(null, null).count(1_000_000).build()));
        assertEquals(List.of("count: 1000001 is outside 1..1000000"), defaults.validate(valid().grid(null, null)
                .count(1_000_001).build()).stream().map(Violation::toString).toList());
    }

    @Test
    void imagesMustSplitEvenlyOverPrompts() {
        assertEquals(List.of(), violations(valid().prompts(List.of("a", "b")).grid(2, 3)));
        assertEquals(List.of("prompts: 2 prompts do not divide 9 images evenly (each prompt gets the same number of images)"),
                violations(valid().prompts(List.of("a", "b")).grid(3, 3)));
        assertEquals(List.of("prompts: 3 prompts do not divide 2 images evenly (each prompt gets the same number of images)"),
                violations(valid().prompts(List.of("a", "b", "c")).grid(null, null).count(2)));
    }

    @Test
    void seedRules() {
        assertEquals(List.of(), violations(valid().seed(null)));
        assertEquals(List.of(), violations(valid().seed(0L)));
        assertEquals(List.of(), violations(valid().seed(Long.MAX_VALUE)));
        assertEquals(List.of("seed: -1 is outside 0..9223372036854775807"), violations(valid().seed(-1L)));
        assertEquals(List.of("seed: 9223372036854775807 + 11 (per-image seeds) exceeds 9223372036854775807"),
                violations(valid().seed(Long.MAX_VALUE).seedMode("per-image")));
        assertEquals(List.of(), violations(valid().seed(Long.MAX_VALUE - 11).seedMode("per-image")));
    }

    @Test
    void seedModeIsBatchOrPerImage() {
        assertEquals(List.of(), violations(valid().seedMode("batch")));
        assertEquals(List.of(), violations(valid().seedMode("per-image")));
        assertEquals(List.of("seedMode: \"random\" is not one of batch, per-image"),
                violations(valid().seedMode("random")));
    }

    @Test
    void batchIdMustBeSafeForKeys() {
        assertEquals(List.of(), violations(valid().batchId("my_batch-01")));
        assertEquals(List.of("batchId: \"../etc\" must be 1 to 64 of A-Z a-z 0-9 _ -"),
                violations(valid().batchId("../etc")));
        assertEquals(1, violations(valid().batchId("")).size());
        assertEquals(1, violations(valid().batchId("x".repeat(65))).size());
    }

    @Test
    void modelIdLength() {
        assertEquals(List.of(), violations(valid().model("CompVis/stable-diffusion-v1-4")));
        assertEquals(List.of("model: must be 1 to 256 characters when given"), violations(valid().model(" ")));
    }

    @Test
    void limitsAreConfigurable() {
        Limits limits = Limits.DEFAULTS.withMaxSteps(20).withMaxSize(256, 256).withMaxImages(4)
                .withGuidanceRange(1, 10).withMaxPromptChars(5).withMinSize(32);
        RequestValidator strict = new RequestValidator(limits);
        RenderRequest r = RenderRequest.builder().prompt("longer").grid(2, 3).steps(25).size(512, 32)
                .guidance(12).build();
        assertEquals(List.of(
                "prompt: 6 characters is more than 5",
                "rows: 2 x 3 = 6 images is more than 4",
                "steps: 25 is outside 1..20",
                "guidance: 12 is outside 1..10",
                "width: 512 is outside 32..256"), strict.validate(r).stream().map(Violation::toString).toList());
        assertEquals(List.of(), strict.validate(RenderRequest.builder().prompt("ok").count(4).steps(20).size(32, 256)
                .guidance(1).build()));
        assertThrows(IllegalArgumentException.class, () -> Limits.DEFAULTS.withGuidanceRange(5, 1));
        assertThrows(IllegalArgumentException.class, () -> Limits.DEFAULTS.withMinSize(4));
    }

    @Test
    void newerSchemaIsAViolation() {
        RenderRequest r = valid().build();
        RenderRequest v2 = new RenderRequest(2, null, r.spec(), null, null, 0);
        assertEquals(List.of("schemaVersion: 2 is newer than 1"),
                validator.validate(v2).stream().map(Violation::toString).toList());
    }

    @Test
    void negativeSchemaAndHugeValuesAreViolationsQuotingAPrefix() {
        RenderRequest r = valid().build();
        RenderRequest minus = new RenderRequest(-1, null, r.spec().toBuilder().scheduler("x".repeat(600_000)).build(),
                null, null, 0);
        assertEquals(List.of("schemaVersion: -1 is outside 1..1",
                        "scheduler: \"" + "x".repeat(64) + "...\" (600000 characters) is not one of "
                                + String.join(", ", SchedulerRegistry.names())),
                validator.validate(minus).stream().map(Violation::toString).toList());
    }

    @Test
    void jobsAreCheckedAgainstTheSameLimits() {
        RenderRequest r = valid().batchId("b").seed(1L).build();
        RenderJob ok = RenderJob.forImage(r, 0, "batches/b/images/0000.png");
        assertEquals(List.of(), validator.validate(ok));
        RenderJob huge = new RenderJob(1, null, "b", 0, 12,
                new io.latentfarm.common.spec.ImageSpec("p", "", 100_000, 7.5, 512, 512, "pndm", 1L, 12, 0, null), null, 1,
                "batches/b/images/0000.png");
        assertEquals(List.of("steps: 100000 is outside 1..150"),
                validator.validate(huge).stream().map(Violation::toString).toList());
    }

    private static List<String> strings(List<Violation> violations) {
        return violations.stream().map(Violation::toString).toList();
    }
}
