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
        if (FlopCounter.active()) {
            // q k^T and probs v: 2 * 2 * (batch*heads) * lq * lk * head_dim
            FlopCounter.add(4L * q.getShape().get(0) * q.getShape().get(1) * k.getShape().get(1) * q.getShape().get(2));
        }
        NDArray kT = k.transpose(0, 2, 1);
        // the score tensor is [batch*heads, lq, lk]: 1 GiB at SD's 64x64 latents, so it is scaled
        // and masked in place and freed as soon as the probabilities exist
        NDArray scores = q.batchMatMul(kT);
        kT.close();
        scores.muli(scale);
        if (mask != null) {
            scores.addi(mask);
        }
        NDArray probs = scores.softmax(-1);
        scores.close();
        NDArray out = probs.batchMatMul(v);
        probs.close();
        return out;
    }
}
