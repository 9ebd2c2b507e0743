package io.latentfarm.model.files;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A weights source that hands the model code placeholder tensors and records every name and shape
 * it asks for; {@link #write} then streams freshly initialised values for exactly those names to a
 * safetensors file. The model classes are the single description of the parameter layout, so a
 * random model for any SD v1 config loads back into the same classes.
 */
public final class RandomWeights implements Weights.Source {
    private final Map<String, long[]> shapes = new LinkedHashMap<>();
    private final boolean materialize;

    /** Placeholders (lazily allocated zeros): for recording the layout before {@link #write}. */
    public RandomWeights() {
        this(false);
    }

    /**
     * @param materialize hand out real random tensors (N(0, 0.02)) so the model can run from memory,
     *                    as the bench does with the full-size v1-4 architecture
     */
    public RandomWeights(boolean materialize) {
        this.materialize = materialize;
    }

    @Override
    public boolean contains(String fullName) {
        // model code asks only to choose between current and legacy names: a new file gets the current ones
        return true;
    }

    @Override
    public NDArray load(String fullName, long[] expectedShape, NDManager manager) {
        if (expectedShape.length == 0) {
            throw new IllegalStateException("model code must give the shape of '" + fullName + "' to build random weights");
        }
        shapes.put(fullName, expectedShape.clone());
        if (materialize) {
            return manager.randomNormal(0f, 0.02f, new Shape(expectedShape), DataType.FLOAT32);
        }
        // zeros are allocated lazily by the OS: a 3.4 GB UNet of placeholders costs little
        return manager.zeros(new Shape(expectedShape), DataType.FLOAT32);
    }

    public Map<String, long[]> recorded() {
        return shapes;
    }

    public long parameterCount() {
        long n = 0;
        for (long[] s : shapes.values()) {
            long k = 1;
            for (long d : s) k *= d;
            n += k;
        }
        return n;
    }

    /**
     * Writes the recorded tensors: norm weights 1, biases 0, embeddings N(0, 0.02), other weights
     * N(0, 1/fan_in) so activations keep their scale through deep random stacks. Deterministic in
     * {@code seed}.
     */
    public void write(Path file, SafeTensorDType dtype, long seed) {
        List<SafeTensorsWriter.Spec> specs = new ArrayList<>();
        shapes.forEach((name, shape) -> specs.add(new SafeTensorsWriter.Spec(name, dtype, shape)));
        Map<String, SplittableRandom> rngs = new LinkedHashMap<>();
        SafeTensorsWriter.write(file, specs, Map.of("format", "pt", "generator", "latentfarm random"), (spec, offset, out) -> {
            String n = spec.name();
            if (isNormWeight(n)) {
                java.util.Arrays.fill(out, 1f);
                return;
            }
            if (n.endsWith(".bias")) {
                java.util.Arrays.fill(out, 0f);
                return;
            }
            double std = n.contains("embedding") ? 0.02 : 1.0 / Math.sqrt(fanIn(spec.shape()));
            SplittableRandom r = rngs.computeIfAbsent(n, k -> new SplittableRandom(seed * 1_000_003L + k.hashCode()));
            for (int i = 0; i < out.length; i++) out[i] = (float) (r.nextGaussian() * std);
        });
    }

    private static boolean isNormWeight(String n) {
        return n.endsWith(".weight") && (n.contains("norm") || n.contains("layer_norm"));
    }

    private static long fanIn(long[] shape) {
        long f = 1;
        for (int i = 1; i < shape.length; i++) f *= shape[i];
        return Math.max(1, shape.length == 1 ? shape[0] : f);
    }
}
