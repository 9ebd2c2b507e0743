package io.latentfarm.worker.nn;

import ai.djl.ndarray.NDArray;

/**
 * softmax(scale * q k^T + mask) v on [batch*heads, len, head_dim] tensors, as diffusers'
 * AttnProcessor computes it (baddbmm with beta 0, softmax in float32, bmm).
 */
public final class ScaledDotProductAttention {
    private ScaledDotProductAttention() {
    }

    /** @param mask additive mask broadcastable to [batch*heads, lq, lk], or null */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, float scale, NDArray mask) {
        NDArray scores = q.batchMatMul(k.transpose(0, 2, 1)).mul(scale);
        if (mask != null) {
            scores = scores.add(mask);
        }
        NDArray probs = scores.softmax(-1);
        return probs.batchMatMul(v);
    }
}
