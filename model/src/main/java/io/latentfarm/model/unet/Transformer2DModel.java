package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Conv2d;
import io.latentfarm.model.nn.GroupNorm;
import io.latentfarm.model.nn.Linear;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' Transformer2DModel on continuous input (SD's "SpatialTransformer"): group norm,
 * proj_in (a 1x1 conv, or a linear layer after flattening with use_linear_projection), the
 * feature map as H*W tokens through the BasicTransformerBlocks, proj_out back, plus the input.
 */
public final class Transformer2DModel {
    /** diffusers fixes this group norm's eps; the UNet's norm_eps does not reach it. */
    private static final double GROUP_NORM_EPS = 1e-6;
    private final GroupNorm norm;
    private final Conv2d projInConv;
    private final Linear projInLinear;
    private final List<BasicTransformerBlock> blocks = new ArrayList<>();
    private final Conv2d projOutConv;
    private final Linear projOutLinear;
    private final long inner;

    public Transformer2DModel(Weights vb, int heads, long headDim, long inChannels, int layers,
                              long crossAttentionDim, int normGroups, boolean useLinearProjection,
                              boolean onlyCrossAttention, boolean upcastAttention) {
        this.inner = heads * headDim;
        this.norm = new GroupNorm(vb.pp("norm"), normGroups, inChannels, GROUP_NORM_EPS);
        if (useLinearProjection) {
            this.projInLinear = new Linear(vb.pp("proj_in"), inChannels, inner, true);
            this.projOutLinear = new Linear(vb.pp("proj_out"), inner, inChannels, true);
            this.projInConv = null;
            this.projOutConv = null;
        } else {
            this.projInConv = new Conv2d(vb.pp("proj_in"), inChannels, inner, 1, 1, 0);
            this.projOutConv = new Conv2d(vb.pp("proj_out"), inner, inChannels, 1, 1, 0);
            this.projInLinear = null;
            this.projOutLinear = null;
        }
        for (int i = 0; i < layers; i++) {
            blocks.add(new BasicTransformerBlock(vb.pp("transformer_blocks").pp(i), inner, heads, headDim,
                    crossAttentionDim, onlyCrossAttention, upcastAttention));
        }
    }

    /**
     * @param x [B, C, H, W] (not closed)
     * @param context [B, 77, cross_attention_dim] (not closed)
     */
    public NDArray forward(NDArray x, NDArray context) {
        Shape s = x.getShape();
        long b = s.get(0);
        long h = s.get(2);
        long w = s.get(3);
        NDArray normed = norm.forward(x);
        NDArray tokens;
        if (projInConv != null) {
            NDArray projected = projInConv.forward(normed);
            tokens = toTokens(projected, b, h * w, inner);
            projected.close();
        } else {
            NDArray flat = toTokens(normed, b, h * w, s.get(1));
            tokens = projInLinear.forward(flat);
            flat.close();
        }
        normed.close();
        for (BasicTransformerBlock block : blocks) {
            NDArray next = block.forward(tokens, context);
            tokens.close();
            tokens = next;
        }
        NDArray out;
        if (projOutConv != null) {
            try (NDArray map = toMap(tokens, b, h, w, inner)) {
                out = projOutConv.forward(map);
            }
        } else {
            try (NDArray projected = projOutLinear.forward(tokens)) {
                out = toMap(projected, b, h, w, s.get(1));
            }
        }
        tokens.close();
        return out.addi(x);
    }

    /** [B, C, H, W] -> [B, H*W, C]. */
    private static NDArray toTokens(NDArray map, long b, long hw, long c) {
        try (NDArray perm = map.transpose(0, 2, 3, 1)) {
            return perm.reshape(b, hw, c);
        }
    }

    /** [B, H*W, C] -> [B, C, H, W]. */
    private static NDArray toMap(NDArray tokens, long b, long h, long w, long c) {
        try (NDArray split = tokens.reshape(b, h, w, c)) {
            return split.transpose(0, 3, 1, 2);
        }
    }
}
