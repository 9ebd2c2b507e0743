package io.latentfarm.model.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.latentfarm.model.files.SafeTensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The tiny-sd-v1 fixture (a diffusers folder with diffusers' own reference outputs) and the
 * comparisons every numeric test uses: a failure names the case and the worst error.
 */
public final class Reference {
    private static final Map<String, SafeTensors> SECTIONS = new ConcurrentHashMap<>();
    private static JsonNode cases;

    private Reference() {
    }

    /** {@code fixtures/} of the repository (surefire passes it; running from an IDE, found upwards). */
    public static Path fixtures() {
        String p = System.getProperty("latentfarm.fixtures");
        if (p != null && Files.isDirectory(Paths.get(p))) return Paths.get(p);
        for (Path d = Paths.get("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isDirectory(d.resolve("fixtures/tiny-sd-v1"))) return d.resolve("fixtures");
        }
        throw new IllegalStateException("fixtures/tiny-sd-v1 not found; run the tests with Maven from the repository");
    }

    public static Path tinyModel() {
        return fixtures().resolve("tiny-sd-v1");
    }

    /** tiny-sd-v1's weights as a single-file .safetensors, a .ckpt and a folder of .bin pickles. */
    public static Path singleFile() {
        return fixtures().resolve("tiny-sd-v1-single-file");
    }

    public static Path sdV14Configs() {
        return fixtures().resolve("sd-v1-4-configs");
    }

    public static synchronized JsonNode cases() {
        if (cases == null) {
            try {
                cases = new ObjectMapper().readTree(tinyModel().resolve("reference/cases.json").toFile());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return cases;
    }

    /** The cases of one section (tokenizer, text_encoder, unet, vae, schedulers, pipeline). */
    public static List<JsonNode> cases(String section) {
        List<JsonNode> out = new ArrayList<>();
        cases().get(section).get("cases").forEach(out::add);
        return out;
    }

    /** reference/{section}.safetensors, opened once. */
    public static SafeTensors tensors(String section) {
        return SECTIONS.computeIfAbsent(section,
                s -> SafeTensors.open(tinyModel().resolve("reference/" + s + ".safetensors")));
    }

    /** The values of a float32 or float16 array as floats (a float16 one is widened in a temporary copy). */
    public static float[] toFloats(ai.djl.ndarray.NDArray a) {
        if (a.getDataType() == ai.djl.ndarray.types.DataType.FLOAT32) return a.toFloatArray();
        try (ai.djl.ndarray.NDArray f = a.toType(ai.djl.ndarray.types.DataType.FLOAT32, true)) {
            return f.toFloatArray();
        }
    }

    /** Worst absolute difference and where it is. */
    public record Diff(double maxAbs, int index, double scale) {
    }

    public static Diff diff(float[] expected, float[] actual) {
        double worst = 0;
        int at = -1;
        double scale = 1;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            double d = Math.abs((double) expected[i] - actual[i]);
            if (Double.isNaN(d)) d = Double.POSITIVE_INFINITY;
            if (d > worst || at < 0) {
                worst = Math.max(worst, d);
                at = d >= worst ? i : at;
            }
        }
        return new Diff(worst, at, scale);
    }

    /**
     * Asserts max |expected - actual| &lt;= rel * max(1, max |expected|), naming {@code what} and the
     * worst element when it fails.
     */
    public static Diff assertClose(String what, float[] expected, float[] actual, double rel) {
        assertEquals(expected.length, actual.length, what + ": element count");
        Diff d = diff(expected, actual);
        double tol = rel * d.scale();
        if (!(d.maxAbs() <= tol)) {
            fail(String.format("%s: max abs error %.3g at element %d (expected %s, got %s) exceeds %.3g (= %.0e x %.3g)",
                    what, d.maxAbs(), d.index(), expected[d.index()], actual[d.index()], tol, rel, d.scale()));
        }
        return d;
    }
}
