package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.LayerNorm;

/**
 * diffusers' BasicTransformerBlock (norm_type "layer_norm"): pre-norm self-attention (attn1),
 * cross-attention over the text states (attn2) and a GEGLU feed-forward (ff), each added to the
 * residual stream. With only_cross_attention, attn1 also attends to the text states.
 */
public final class BasicTransformerBlock {
    /** diffusers builds these layer norms with its default eps, not the UNet's norm_eps. */
    private static final double LAYER_NORM_EPS = 1e-5;
    private final LayerNorm norm1;
    private final Attention attn1;
    private final LayerNorm norm2;
    private final Attention attn2;
    private final LayerNorm norm3;
    private final FeedForward ff;
    private final boolean onlyCrossAttention;

    public BasicTransformerBlock(Weights vb, long dim, int heads, long headDim, long crossAttentionDim,
                                 boolean onlyCrossAttention, boolean upcastAttention) {
        this.norm1 = new LayerNorm(vb.pp("norm1"), dim, LAYER_NORM_EPS);
        this.attn1 = new Attention(vb.pp("attn1"), Attention.Names.CURRENT, dim,
                onlyCrossAttention ? crossAttentionDim : dim, heads, headDim, false, upcastAttention);
        this.norm2 = new LayerNorm(vb.pp("norm2"), dim, LAYER_NORM_EPS);
        this.attn2 = new Attention(vb.pp("attn2"), Attention.Names.CURRENT, dim, crossAttentionDim,
                heads, headDim, false, upcastAttention);
        this.norm3 = new LayerNorm(vb.pp("norm3"), dim, LAYER_NORM_EPS);
        this.ff = new FeedForward(vb.pp("ff"), dim, dim * 4);
        this.onlyCrossAttention = onlyCrossAttention;
    }

    /**
     * @param x [B, L, dim] (not closed)
     * @param context [B, 77, cross_attention_dim] (not closed)
     */
    public NDArray forward(NDArray x, NDArray context) {
        NDArray h = residual(x, attn1(norm1.forward(x), onlyCrossAttention ? context : null));
        NDArray h2 = residual(h, attn2(norm2.forward(h), context));
        h.close();
        NDArray n3 = norm3.forward(h2);
        NDArray f = ff.forward(n3);
        n3.close();
        NDArray out = residual(h2, f);
        h2.close();
        return out;
    }

    private NDArray attn1(NDArray normed, NDArray context) {
        NDArray out = attn1.forward(normed, context);
        normed.close();
        return out;
    }

    private NDArray attn2(NDArray normed, NDArray context) {
        NDArray out = attn2.forward(normed, context);
        normed.close();
        return out;
    }

    /** branch + stream, written into the branch output (which this call owns). */
    private static NDArray residual(NDArray stream, NDArray branch) {
        return branch.addi(stream);
    }
}
