package io.latentfarm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;

/**
 * softmax(scale * q k^T + mask) v on [batch*heads, len, head_dim] tensors. Without a mask and at
 * the usual 1/sqrt(head_dim) scale this runs PyTorch's fused kernel ({@link FusedAttention}), as
 * diffusers does with torch 2; otherwise it computes what diffusers' AttnProcessor computes
 * (baddbmm with beta 0, softmax in float32, bmm).
 *
 * <p>The score matrix is the largest tensor of a diffusion step ([16, 4096, 4096] fp32 = 1 GiB for
 * SD v1 at 512x512 with guidance), so scores and probabilities are freed as soon as they are
 * consumed, and a large batch*heads axis is processed in slices so that at most
 * {@link #MAX_SCORE_ELEMENTS} scores exist at once. Slicing changes no value: each slice is the
 * same batched matmul on fewer matrices.
 */
public final class ScaledDotProductAttention {
    /** 2^26 fp32 scores = 256 MiB per slice. */
    static final long MAX_SCORE_ELEMENTS = 1L << 26;

    private ScaledDotProductAttention() {
    }

    /** @param mask additive mask broadcastable to [batch*heads, lq, lk], or null */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, float scale, NDArray mask) {
        return attend(q, k, v, scale, mask, false);
    }

    /**
     * @param bf16 float32 q, k, v whose attention math may run in bf16 ({@link Bf16Ops#attend}) where
     *     that pays ({@link Bf16Ops#attentionInBf16}); with a mask or another scale it runs in float32
     */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, float scale, NDArray mask, boolean bf16) {
        if (FlopCounter.active()) {
            // q k^T and probs v: 2 * 2 * (batch*heads) * lq * lk * head_dim
            FlopCounter.add(4L * q.getShape().get(0) * q.getShape().get(1) * k.getShape().get(1) * q.getShape().get(2));
        }
        boolean plain = mask == null && isDefaultScale(scale, q);
        if (bf16 && plain && Bf16Ops.attentionInBf16(q.getDevice())) {
            return Bf16Ops.attend(q, k, v);
        }
        ai.djl.nn.Block fused = plain ? FusedAttention.block() : null;
        if (fused != null) {
            return FusedAttention.attend(fused, q, k, v);
        }
        return attend(q, k, v, scale, mask, MAX_SCORE_ELEMENTS);
    }

    /** The fused kernel scales by 1/sqrt(head_dim), which is what SD's attention layers use. */
    private static boolean isDefaultScale(float scale, NDArray q) {
        double expected = 1.0 / Math.sqrt(q.getShape().get(q.getShape().dimension() - 1));
        return Math.abs(scale / expected - 1.0) < 1e-6;
    }

    static NDArray attend(NDArray q, NDArray k, NDArray v, float scale, NDArray mask, long maxScoreElements) {
        long bh = q.getShape().get(0);
        long perMatrix = q.getShape().get(1) * k.getShape().get(1);
        long sliceSize = Math.max(1, Math.min(bh, maxScoreElements / Math.max(1, perMatrix)));
        if (sliceSize >= bh || (mask != null && mask.getShape().dimension() == 3 && mask.getShape().get(0) != 1)) {
            return attendAll(q, k, v, scale, mask);
        }
        NDList parts = new NDList();
        try {
            for (long start = 0; start < bh; start += sliceSize) {
                NDIndex slice = new NDIndex("{}:{}", start, Math.min(bh, start + sliceSize));
                try (NDArray qs = q.get(slice); NDArray ks = k.get(slice); NDArray vs = v.get(slice)) {
                    parts.add(attendAll(qs, ks, vs, scale, mask));
                }
            }
            return NDArrays.concat(parts, 0);
        } finally {
            parts.close();
        }
    }

    private static NDArray attendAll(NDArray q, NDArray k, NDArray v, float scale, NDArray mask) {
        NDArray scores;
        try (NDArray kt = k.transpose(0, 2, 1)) {
            scores = q.batchMatMul(kt);
        }
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
