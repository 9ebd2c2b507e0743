package io.latentfarm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.engine.Engine;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ScaledDotProductAttentionTest {

    @Test
    void slicingTheBatchHeadsAxisChangesNoValueAndLeavesNothingOpen() {
        Engine.getInstance().setRandomSeed(7);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray q = m.randomNormal(new Shape(6, 20, 8));
            NDArray k = m.randomNormal(new Shape(6, 30, 8));
            NDArray v = m.randomNormal(new Shape(6, 30, 8));
            NDArray whole = ScaledDotProductAttention.attend(q, k, v, 0.35f, null, Long.MAX_VALUE);
            int before = m.getManagedArrays().size();
            // 20*30 scores per matrix and a budget of 1,300: slices of 2, 2, 2.
            NDArray sliced = ScaledDotProductAttention.attend(q, k, v, 0.35f, null, 1300);
            assertEquals(before + 1, m.getManagedArrays().size(), "only the result stays open");
            assertEquals(whole.getShape(), sliced.getShape());
            assertArrayEquals(whole.toFloatArray(), sliced.toFloatArray());
            // Reference: softmax(q k^T * scale) v computed plainly.
            NDArray plain = q.batchMatMul(k.transpose(0, 2, 1)).mul(0.35f).softmax(-1).batchMatMul(v);
            float[] a = plain.toFloatArray();
            float[] b = whole.toFloatArray();
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-6);
            }
        }
    }

    @Test
    void fusedKernelAgreesWithMatmulSoftmaxAndLeavesNothingOpen() {
        assertNotNull(FusedAttention.block(), "PyTorch's fused attention loads from the generated TorchScript archive");
        Engine.getInstance().setRandomSeed(11);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray q = m.randomNormal(new Shape(4, 256, 40));
            NDArray k = m.randomNormal(new Shape(4, 77, 40));
            NDArray v = m.randomNormal(new Shape(4, 77, 40));
            float scale = (float) Math.pow(40, -0.5);
            int before = m.getManagedArrays().size();
            NDArray fused = ScaledDotProductAttention.attend(q, k, v, scale, null);
            assertEquals(before + 1, m.getManagedArrays().size(), "the result lands in q's manager, nothing else stays");
            NDArray plain = ScaledDotProductAttention.attend(q, k, v, scale, null, Long.MAX_VALUE);
            assertEquals(plain.getShape(), fused.getShape());
            float[] a = plain.toFloatArray();
            float[] b = fused.toFloatArray();
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-5, "element " + i);
            }
        }
    }
}
