package io.latentfarm.common.spec;

import io.latentfarm.common.message.SeedMode;
import io.latentfarm.common.validation.Limits;
import io.latentfarm.common.validation.RequestValidator;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PromptFileTest {
    private final RequestValidator validator = new RequestValidator();
    private final RenderSpec base = RenderSpec.builder().steps(15).size(64, 64).seed(1000L).build();

    private static InputStream in(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
    }

    private List<PromptFile.Image> all(String text, PromptFile.Format format, RenderSpec spec, PromptFile.Cursor from) {
        PromptFile.Validation v = PromptFile.validate(in(text), format, spec, validator);
        assertEquals(List.of(), v.violations());
        List<PromptFile.Image> out = new ArrayList<>();
        try (var images = PromptFile.images(in(text), format, spec, v.images(), from)) {
            images.forEachRemaining(out::add);
        }
        return out;
    }

    private static final String JSONL = """
            {"prompt": "a red fox", "seed": 7, "count": 3, "steps": 20}
            {"prompt": "a blue bird", "negativePrompt": "blurry", "id": "bird"}

            {"prompt": "a cat", "count": 2, "width": 128, "scheduler": "euler_a", "guidance": 5}
            """;

    @Test
    void jsonLinesGiveImageSpecsInIndexOrder() {
        List<PromptFile.Image> images = all(JSONL, PromptFile.Format.JSONL, base, PromptFile.Cursor.START);
        assertEquals(6, images.size());
        assertEquals(List.of(1L, 1L, 1L, 2L, 4L, 4L), images.stream().map(PromptFile.Image::lineNumber).toList());
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L), images.stream().map(PromptFile.Image::index).toList());
        ImageSpec bird = images.get(3).spec();
        assertEquals(new ImageSpec("a blue bird", "blurry", 15, 7.5, 64, 64, null, 1000, 6, 3, "bird"), bird);
        ImageSpec cat = images.get(5).spec();
        assertEquals(new ImageSpec("a cat", "", 15, 5, 128, 64, "euler_a", 1000, 6, 5, null), cat);
    }

    @Test
    void aSeededLineIsItsOwnBatchLikeGenerateWithImagesPerPrompt() {
        List<PromptFile.Image> images = all(JSONL, PromptFile.Format.JSONL, base, PromptFile.Cursor.START);
        // latentfarm generate --prompt "a red fox" --seed 7 --images-per-prompt 3 --steps 20 (--width/--height 64)
        RenderSpec generate = RenderSpec.builder().prompt("a red fox").count(3).seed(7L).steps(20).size(64, 64).build();
        for (int j = 0; j < 3; j++) {
            assertEquals(generate.image(j), images.get(j).spec(), "image " + j);
        }
    }

    @Test
    void perImageSeedModeSeedsUnseededLinesWithSeedPlusIndex() {
        RenderSpec perImage = base.toBuilder().seedMode(SeedMode.PER_IMAGE).build();
        List<PromptFile.Image> images = all(JSONL, PromptFile.Format.JSONL, perImage, PromptFile.Cursor.START);
        assertEquals(7, images.get(2).spec().seed());
        assertEquals(3, images.get(2).spec().batchSize());
        assertEquals(1004, images.get(4).spec().seed());
        assertEquals(1, images.get(4).spec().batchSize());
        assertEquals(0, images.get(4).spec().sliceIndex());
    }

    @Test
    void linesComeWithTheirNumbersAndOverrides() {
        List<PromptLine> lines = new ArrayList<>();
        try (var it = PromptFile.lines(in(JSONL), PromptFile.Format.JSONL)) {
            it.forEachRemaining(lines::add);
        }
        assertEquals(new PromptLine(1, "a red fox", null, 7L, 20, null, null, null, null, 3, null), lines.get(0));
        assertEquals(4, lines.get(2).lineNumber());
        assertEquals(3, lines.size());
        try (var it = PromptFile.lines(in("{\"prompt\": 5}\n"), PromptFile.Format.JSONL)) {
            assertEquals("line 1: prompt: 5 is not a string",
                    assertThrows(IllegalArgumentException.class, it::next).getMessage());
        }
    }

    @Test
    void plainTextIsOnePromptPerLine() {
        List<PromptFile.Image> images = all("a fox\r\n\nan owl\n", PromptFile.Format.TEXT, base, PromptFile.Cursor.START);
        assertEquals(List.of("a fox", "an owl"), images.stream().map(i -> i.spec().prompt()).toList());
        assertEquals(List.of(1L, 3L), images.stream().map(PromptFile.Image::lineNumber).toList());
        assertEquals(2, images.get(1).spec().batchSize());
    }

    @Test
    void csvHasAHeaderAndRfc4180Quoting() {
        String csv = "prompt,seed,count,id\n"
                + "\"a fox, running\",5,2,fox\n"
                + "\"a \"\"quoted\"\" owl\nover two lines\",,,\n"
                + "a cat,,,\n";
        List<PromptFile.Image> images = all(csv, PromptFile.Format.CSV, base, PromptFile.Cursor.START);
        assertEquals(List.of("a fox, running", "a fox, running", "a \"quoted\" owl\nover two lines", "a cat"),
                images.stream().map(i -> i.spec().prompt()).toList());
        assertEquals(List.of("fox-0", "fox-1"), images.subList(0, 2).stream().map(i -> i.spec().id()).toList());
        assertEquals(List.of(2L, 2L, 3L, 5L), images.stream().map(PromptFile.Image::lineNumber).toList());
        assertEquals(new ImageSpec("a cat", "", 15, 7.5, 64, 64, null, 1000, 4, 3, null), images.get(3).spec());
    }

    @Test
    void resumingFromAnyCursorGivesTheSameRest() {
        for (PromptFile.Format format : List.of(PromptFile.Format.JSONL, PromptFile.Format.CSV)) {
            String text = format == PromptFile.Format.JSONL ? JSONL
                    : "prompt,count,seed\nfirst,2,3\n\"second\nline\",1,\nthird,3,\n";
            List<PromptFile.Image> whole = all(text, format, base, PromptFile.Cursor.START);
            for (int k = 0; k < whole.size(); k++) {
                List<PromptFile.Image> rest = all(text, format, base, whole.get(k).next());
                assertEquals(whole.subList(k + 1, whole.size()), rest, format + " after image " + k);
            }
        }
    }

    @Test
    void badLinesAreReportedWithTheirLineNumberAndField() {
        String text = """
                {"prompt": "ok"}
                {"prompt": "no steps", "steps": 0}
                {"negativePrompt": "no prompt"}
                {"prompt": "x", "width": 100, "scheduler": "nope"}
                not json
                {"prompt": "x", "stpes": 3}
                {"prompt": "x", "steps": "ten"}
                {"prompt": "x", "id": "has space", "count": 0}
                """;
        List<String> v = PromptFile.validate(in(text), PromptFile.Format.JSONL, base, validator).violations();
        assertEquals("line 2: steps: 0 is outside 1..150", v.get(0));
        assertEquals("line 3: prompt: required", v.get(1));
        assertEquals("line 4: width: 100 is not a multiple of 8", v.get(2));
        assertTrue(v.get(3).startsWith("line 4: scheduler: \"nope\" is not one of"), v.get(3));
        assertTrue(v.get(4).startsWith("line 5: line: is not JSON"), v.get(4));
        assertTrue(v.get(5).startsWith("line 6: stpes: is not one of prompt, negativePrompt"), v.get(5));
        assertTrue(v.get(6).startsWith("line 7: steps: \"ten\" is not an integer"), v.get(6));
        assertEquals("line 8: count: 0 is outside 1..1000000", v.get(7));
        assertTrue(v.get(8).startsWith("line 8: id: \"has space\" must be 1 to 64"), v.get(8));
        assertEquals(9, v.size());
        assertEquals(List.of("line 3: seed: \"x\" is not an integer in -9223372036854775808..9223372036854775807"),
                PromptFile.validate(in("prompt,seed\na,1\nb,x\n"), PromptFile.Format.CSV, base, validator)
                        .violations());
        assertTrue(PromptFile.validate(in("prompt,colour\na,red\n"), PromptFile.Format.CSV, base, validator)
                .violations().get(0).startsWith("line 1: header: \"colour\" is not one of"));
    }

    @Test
    void validationStopsAfterTwentyViolations() {
        String text = "{\"prompt\": \"x\", \"steps\": 0}\n".repeat(50_000);
        PromptFile.Validation v = PromptFile.validate(in(text), PromptFile.Format.JSONL, base, validator);
        assertEquals(PromptFile.MAX_VIOLATIONS, v.violations().size());
        assertEquals("line 20: steps: 0 is outside 1..150", v.violations().get(19));
        assertTrue(v.lines() <= 20, "read " + v.lines() + " lines");
    }

    @Test
    void limitsOnImagesGridAndBytesAreSettings() {
        RequestValidator strict = new RequestValidator(Limits.DEFAULTS.withMaxImages(5).withMaxPromptFileBytes(100));
        assertEquals(List.of("promptsUri: more than 5 images"), PromptFile.validate(in("{\"prompt\":\"a\",\"count\":3}\n".repeat(2)),
                PromptFile.Format.JSONL, base, strict).violations());
        assertEquals(List.of("line 3: promptsUri: the file is more than 100 bytes"),
                PromptFile.validate(in("a\nb\n" + "c".repeat(200)), PromptFile.Format.TEXT, base, strict).violations());
        assertEquals(List.of("promptsUri: the file has no prompts"),
                PromptFile.validate(in("\n\n"), PromptFile.Format.TEXT, base, validator).violations());
        RenderSpec grid = base.toBuilder().grid(2, 2).build();
        assertEquals(List.of("rows: rows x cols = 2 x 2 = 4 does not match the file's 3 images"),
                PromptFile.validate(in("a\nb\nc\n"), PromptFile.Format.TEXT, grid, validator).violations());
    }

    @Test
    void theFormatComesFromTheKey() {
        PromptFile.Location l = PromptFile.Location.parse("s3://latentfarm/prompts/set-1.jsonl");
        assertEquals("latentfarm", l.bucket());
        assertEquals("prompts/set-1.jsonl", l.key());
        assertEquals(PromptFile.Format.JSONL, l.format());
        assertEquals(PromptFile.Format.CSV, PromptFile.Format.of("a.csv"));
        assertEquals(PromptFile.Format.TEXT, PromptFile.Format.of("a.txt"));
        assertThrows(IllegalArgumentException.class, () -> PromptFile.Location.parse("s3://bucket/prompts.json"));
        assertThrows(IllegalArgumentException.class, () -> PromptFile.Location.parse("https://x/y.txt"));
        assertThrows(IllegalArgumentException.class, () -> PromptFile.Location.parse("s3://bucket/"));
    }
}
