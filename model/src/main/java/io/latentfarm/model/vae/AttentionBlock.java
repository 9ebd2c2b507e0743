package io.latentfarm.model.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.GroupNorm;
import io.latentfarm.model.unet.Attention;

/**
 * The VAE mid-block attention (diffusers' Attention with group_norm and a residual connection, once
 * AttentionBlock): group norm, the H*W positions as tokens through single-head self-attention over
 * the channels, plus the input, divided by rescale_output_factor. Loads the current weight names
 * (to_q, to_k, to_v, to_out.0) or the legacy ones (query, key, value, proj_attn) that SD v1-4 and
 * v1-5 files still have.
 */
public final class AttentionBlock {
    private final GroupNorm groupNorm;
    private final Attention attention;
    private final double rescaleOutputFactor;

    public AttentionBlock(Weights vb, long channels, int groups, double eps, double rescaleOutputFactor) {
        this.groupNorm = new GroupNorm(vb.pp("group_norm"), groups, channels, eps);
        this.attention = new Attention(vb, Attention.Names.detect(vb), channels, channels, 1, channels, true, true);
        this.rescaleOutputFactor = rescaleOutputFactor;
    }

    /** @param x [B, C, H, W] (not closed) */
    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        long b = s.get(0);
        long c = s.get(1);
        long hw = s.get(2) * s.get(3);
        NDArray tokens;
        try (NDArray normed = groupNorm.forward(x);
             NDArray flat = normed.reshape(b, c, hw)) {
            tokens = flat.transpose(0, 2, 1);
        }
        NDArray attended = attention.forward(tokens, null);
        tokens.close();
        NDArray out;
        try (NDArray perm = attended.transpose(0, 2, 1)) {
            out = perm.reshape(s);
        }
        attended.close();
        out.addi(x);
        if (rescaleOutputFactor != 1.0) {
            out.divi((float) rescaleOutputFactor);
        }
        return out;
    }
}
