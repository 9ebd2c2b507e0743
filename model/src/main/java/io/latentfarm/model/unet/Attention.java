package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.model.files.ModelException;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Linear;
import io.latentfarm.model.nn.ScaledDotProductAttention;

/**
 * diffusers' Attention on token sequences [B, L, query_dim]: to_q / to_k / to_v projections, heads
 * of size head_dim, softmax(q k^T * head_dim^-0.5) v, then to_out.0. Self-attention when no context
 * is given, cross-attention over the context (the text encoder states) otherwise. The UNet's
 * transformer blocks use it without projection biases; the VAE's mid-block attention with biases,
 * one head, and possibly the legacy weight names ({@link Names#LEGACY}).
 */
public final class Attention {
    /** The parameter names of the four projections. */
    public record Names(String query, String key, String value, String out) {
        public static final Names CURRENT = new Names("to_q", "to_k", "to_v", "to_out.0");
        /** diffusers' pre-0.14 AttentionBlock, still in the VAE files of SD v1-4 and v1-5. */
        public static final Names LEGACY = new Names("query", "key", "value", "proj_attn");

        /** The scheme whose query weight {@code vb} holds. */
        public static Names detect(Weights vb) {
            if (vb.contains(CURRENT.query + ".weight")) return CURRENT;
            if (vb.contains(LEGACY.query + ".weight")) return LEGACY;
            throw new ModelException("tensor '" + vb.prefix() + CURRENT.query + ".weight' (or legacy '"
                    + vb.prefix() + LEGACY.query + ".weight') is missing");
        }
    }

    private final Linear toQ;
    private final Linear toK;
    private final Linear toV;
    private final Linear toOut;
    private final int heads;
    private final long headDim;
    private final float scale;
    private final boolean upcast;
    private final boolean bf16;

    /**
     * @param contextDim size of the context tokens (cross_attention_dim), or queryDim for self-attention
     * @param bias whether to_q/to_k/to_v have biases (to_out.0 always has one)
     * @param upcast compute scores and softmax in float32 when the weights are not (upcast_attention)
     */
    public Attention(Weights vb, Names names, long queryDim, long contextDim, int heads, long headDim,
                     boolean bias, boolean upcast) {
        long inner = heads * headDim;
        this.toQ = new Linear(vb.pp(names.query()), queryDim, inner, bias);
        this.toK = new Linear(vb.pp(names.key()), contextDim, inner, bias);
        this.toV = new Linear(vb.pp(names.value()), contextDim, inner, bias);
        this.toOut = new Linear(vb.pp(names.out()), inner, queryDim, true);
        this.heads = heads;
        this.headDim = headDim;
        this.scale = (float) Math.pow(headDim, -0.5);
        this.upcast = upcast;
        this.bf16 = vb.bf16();
    }

    /**
     * @param x [B, L, query_dim] (not closed)
     * @param context [B, Lc, context_dim], or null for self-attention (not closed)
     * @return [B, L, query_dim]
     */
    public NDArray forward(NDArray x, NDArray context) {
        NDArray source = context != null ? context : x;
        NDArray q = headsToBatch(toQ.forward(x));
        NDArray k = headsToBatch(toK.forward(source));
        NDArray v = headsToBatch(toV.forward(source));
        DataType dtype = q.getDataType();
        if (upcast && dtype != DataType.FLOAT32) {
            q = toFloat32(q);
            k = toFloat32(k);
            v = toFloat32(v);
        }
        NDArray attended = ScaledDotProductAttention.attend(q, k, v, scale, null, bf16);
        q.close();
        k.close();
        v.close();
        if (attended.getDataType() != dtype) {
            NDArray cast = attended.toType(dtype, false);
            attended.close();
            attended = cast;
        }
        NDArray merged = batchToHeads(attended, x.getShape().get(0));
        NDArray out = toOut.forward(merged);
        merged.close();
        return out;
    }

    /** [B, L, H*D] -> [B*H, L, D]; closes its input. */
    private NDArray headsToBatch(NDArray t) {
        if (heads == 1) {
            return t;
        }
        Shape s = t.getShape();
        NDArray out;
        try (NDArray split = t.reshape(s.get(0), s.get(1), heads, headDim);
             NDArray perm = split.transpose(0, 2, 1, 3)) {
            out = perm.reshape(s.get(0) * heads, s.get(1), headDim);
        }
        t.close();
        return out;
    }

    /** [B*H, L, D] -> [B, L, H*D]; closes its input. */
    private NDArray batchToHeads(NDArray t, long batch) {
        if (heads == 1) {
            return t;
        }
        long len = t.getShape().get(1);
        NDArray out;
        try (NDArray split = t.reshape(batch, heads, len, headDim);
             NDArray perm = split.transpose(0, 2, 1, 3)) {
            out = perm.reshape(batch, len, heads * headDim);
        }
        t.close();
        return out;
    }

    private static NDArray toFloat32(NDArray t) {
        NDArray f = t.toType(DataType.FLOAT32, false);
        t.close();
        return f;
    }
}
