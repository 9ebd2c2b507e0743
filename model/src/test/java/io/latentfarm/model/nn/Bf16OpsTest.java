package io.latentfarm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.model.files.RandomWeights;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each op that runs in bf16 (through the generated TorchScript module) against the same op in
 * float32 on the same weights. bf16 keeps 8 mantissa bits: a dot product of a few hundred terms
 * lands within about 1e-2 of the output's scale (measured: 3e-3 to 6e-3).
 */
class Bf16OpsTest {
    private static final double TOL = 1e-2;

    @Test
    void convolutionsOfEveryStrideAndPaddingTheModelsUse() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(2, 16, 9, 12));
            int[][] cases = {{3, 1, 1}, {3, 2, 1}, {1, 1, 0}, {3, 2, 0}};
            for (int[] c : cases) {
                int kernel = c[0], stride = c[1], padding = c[2];
                FixedRandom random = new FixedRandom();
                Conv2d fp32 = new Conv2d(new Weights(random, m, DataType.FLOAT32), 16, 24, kernel, stride, padding);
                Conv2d bf16 = new Conv2d(new Weights(random, m, DataType.BFLOAT16), 16, 24, kernel, stride, padding);
                compare("conv2d k" + kernel + " s" + stride + " p" + padding, fp32.forward(x), bf16.forward(x));
            }
        }
    }

    @Test
    void linearWithAndWithoutBiasAndAttention() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(2, 7, 32));
            for (boolean bias : new boolean[]{true, false}) {
                FixedRandom random = new FixedRandom();
                Linear fp32 = new Linear(new Weights(random, m, DataType.FLOAT32), 32, 48, bias);
                Linear bf16 = new Linear(new Weights(random, m, DataType.BFLOAT16), 32, 48, bias);
                compare("linear bias=" + bias, fp32.forward(x), bf16.forward(x));
            }
            NDArray q = m.randomNormal(new Shape(4, 64, 40));
            NDArray k = m.randomNormal(new Shape(4, 77, 40));
            NDArray v = m.randomNormal(new Shape(4, 77, 40));
            float scale = (float) (1 / Math.sqrt(40));
            // the bf16 kernel itself, whether or not this CPU's bf16 models use it (attentionInBf16)
            compare("attention", ScaledDotProductAttention.attend(q, k, v, scale, null, false), Bf16Ops.attend(q, k, v));
        }
    }

    /**
     * The results are ordinary float32 tensors: DJL ops and in-place updates work on them (a
     * result made in inference mode would refuse the in-place add), and weights passed by their
     * dotted names reach the method as tensors.
     */
    @Test
    void resultsAreOrdinaryFloat32TensorsAndNamedWeightsPass() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.randomNormal(new Shape(8, 4));
            w.setName("down_blocks.0.proj.weight");
            NDArray held = Bf16Ops.hold(w);
            NDArray x = m.randomNormal(new Shape(3, 4));
            NDArray y = Bf16Ops.linear(x, held, null);
            assertEquals(DataType.FLOAT32, y.getDataType());
            assertEquals(new Shape(3, 8), y.getShape());
            y.addi(1f).muli(2f);
            NDArray expected = x.matMul(w.transpose()).add(1f).mul(2f);
            Reference.assertClose("linear then in-place ops", expected.toFloatArray(), y.toFloatArray(), TOL);
            assertEquals("down_blocks.0.proj.weight", w.getName(), "the caller's array keeps its name");
        }
    }

    @Test
    void unsupportedConvolutionIsRejectedByName() {
        try (NDManager m = NDManager.newBaseManager()) {
            Weights vb = new Weights(new RandomWeights(true), m, DataType.BFLOAT16).pp("conv_in");
            String msg = assertThrows(IllegalArgumentException.class, () -> new Conv2d(vb, 4, 8, 9, 1, 4)).getMessage();
            assertTrue(msg.contains("conv_in.weight") && msg.contains("padding 4"), msg);
        }
    }

    @Test
    void bf16ViewKeepsFloat32ForNormsAndCanOptOut() {
        try (NDManager m = NDManager.newBaseManager()) {
            Weights vb = new Weights(new RandomWeights(true), m, DataType.BFLOAT16);
            assertTrue(vb.bf16());
            assertEquals(DataType.FLOAT32, vb.dtype(), "norm weights and activations are float32");
            assertTrue(vb.pp("mid_block").bf16());
            assertFalse(vb.pp("time_embedding").withoutBf16().bf16());
            assertEquals(DataType.FLOAT32, vb.get("norm.weight", 4).getDataType());
        }
    }

    /** Random weights that are the same every time a name is loaded, so both precisions see them. */
    private static final class FixedRandom implements Weights.Source {
        private final java.util.Map<String, float[]> values = new java.util.HashMap<>();
        private final java.util.Random random = new java.util.Random(7);

        @Override
        public boolean contains(String fullName) {
            return true;
        }

        @Override
        public NDArray load(String fullName, long[] shape, NDManager manager) {
            float[] v = values.computeIfAbsent(fullName, n -> {
                float[] f = new float[Math.toIntExact(new Shape(shape).size())];
                for (int i = 0; i < f.length; i++) f[i] = (float) (random.nextGaussian() * 0.1);
                return f;
            });
            return manager.create(v, new Shape(shape));
        }
    }

    private static void compare(String what, NDArray expected, NDArray actual) {
        assertEquals(DataType.FLOAT32, actual.getDataType(), what);
        assertEquals(expected.getShape(), actual.getShape(), what);
        Reference.Diff d = Reference.assertClose(what + " bf16 vs float32", expected.toFloatArray(), actual.toFloatArray(), TOL);
        System.out.printf("Bf16OpsTest %s: %.2g of scale%n", what, d.maxAbs() / d.scale());
    }
}
