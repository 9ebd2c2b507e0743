package io.latentfarm.worker.nn;

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
}
