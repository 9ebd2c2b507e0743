package io.latentfarm.model.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import io.latentfarm.model.files.ModelFolder;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Activations;
import io.latentfarm.model.nn.LayerNorm;
import io.latentfarm.model.nn.Linear;
import io.latentfarm.model.nn.ScaledDotProductAttention;

import java.util.ArrayList;
import java.util.List;

/**
 * Hugging Face transformers' CLIPTextModel as Stable Diffusion uses it: token + position
 * embeddings, pre-LN transformer layers with a causal mask, final layer norm; output
 * last_hidden_state [B, L, hidden]. Weight names are those of the HF file ({@code text_model.*}).
 */
public final class ClipTextModel {
    private final ClipTextConfig config;
    private final NDArray tokenEmbedding;
    private final NDArray positionEmbedding;
    private final List<EncoderLayer> layers = new ArrayList<>();
    private final LayerNorm finalLayerNorm;

    /** @param vb the view of the text encoder's weight file, at its root */
    public ClipTextModel(Weights vb, ClipTextConfig config) {
        this.config = config;
        Weights tm = vb.pp("text_model");
        Weights emb = tm.pp("embeddings");
        this.tokenEmbedding = emb.get("token_embedding.weight", config.vocabSize(), config.hiddenSize());
        this.positionEmbedding = emb.get("position_embedding.weight", config.maxPositionEmbeddings(), config.hiddenSize());
        Weights enc = tm.pp("encoder").pp("layers");
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(new EncoderLayer(enc.pp(i), config));
        }
        this.finalLayerNorm = new LayerNorm(tm.pp("final_layer_norm"), config.hiddenSize(), config.layerNormEps());
    }

    /** {@code text_encoder/} of a diffusers folder, weights created in {@code manager} as float32. */
    public static ClipTextModel load(ModelFolder folder, String variant, NDManager manager) {
        ClipTextConfig config = ClipTextConfig.from(folder.config("text_encoder"));
        return new ClipTextModel(new Weights(folder.weights("text_encoder", variant), manager, DataType.FLOAT32), config);
    }

    public ClipTextConfig config() {
        return config;
    }

    /** last_hidden_state [B, L, hidden] for int64 {@code inputIds} [B, L]; created in the ids' manager. */
    public NDArray forward(NDArray inputIds) {
        return run(inputIds, null);
    }

    /**
     * last_hidden_state plus HF's hidden_states: [embeddings, after layer 1, ..., after the last
     * layer], before the final layer norm. The caller owns every array.
     */
    public Output forwardWithHiddenStates(NDArray inputIds) {
        List<NDArray> hidden = new ArrayList<>();
        NDArray last = run(inputIds, hidden);
        return new Output(last, hidden);
    }

    public record Output(NDArray lastHiddenState, List<NDArray> hiddenStates) {
    }

    private NDArray run(NDArray inputIds, List<NDArray> keep) {
        Shape s = inputIds.getShape();
        if (s.dimension() != 2) {
            throw new IllegalArgumentException("input ids must be [batch, length], got " + s);
        }
        int length = (int) s.get(1);
        if (length > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("input ids have " + length + " positions; the text encoder has "
                    + config.maxPositionEmbeddings());
        }
        NDManager m = inputIds.getManager();
        NDArray ids = inputIds.getDataType() == DataType.INT64 ? inputIds : inputIds.toType(DataType.INT64, false);
        NDArray tokens = ai.djl.nn.core.Embedding.embedding(ids, tokenEmbedding, SparseFormat.DENSE).singletonOrThrow();
        if (ids != inputIds) ids.close();
        NDArray positions = positionEmbedding.get(m, new NDIndex("0:{}", length));
        NDArray x = tokens.add(positions);
        tokens.close();
        positions.close();

        NDArray mask = causalMask(m, length).toDevice(x.getDevice(), false);
        try {
            if (keep != null) keep.add(x);
            for (EncoderLayer layer : layers) {
                NDArray next = layer.forward(x, mask);
                if (keep == null) x.close();
                x = next;
                if (keep != null) keep.add(x);
            }
            NDArray out = finalLayerNorm.forward(x);
            if (keep == null) x.close();
            return out;
        } finally {
            mask.close();
        }
    }

    /** Additive [1, L, L] mask: -inf above the diagonal, so a position attends to itself and earlier ones. */
    private static NDArray causalMask(NDManager m, int length) {
        float[] mask = new float[length * length];
        for (int i = 0; i < length; i++) {
            for (int j = i + 1; j < length; j++) {
                mask[i * length + j] = Float.NEGATIVE_INFINITY;
            }
        }
        return m.create(mask, new Shape(1, length, length));
    }

    /** CLIPEncoderLayer: x + attn(ln1(x)), then x + mlp(ln2(x)). */
    private static final class EncoderLayer {
        private final LayerNorm layerNorm1;
        private final Attention selfAttn;
        private final LayerNorm layerNorm2;
        private final Linear fc1;
        private final Linear fc2;
        private final boolean quickGelu;

        EncoderLayer(Weights vb, ClipTextConfig c) {
            this.layerNorm1 = new LayerNorm(vb.pp("layer_norm1"), c.hiddenSize(), c.layerNormEps());
            this.selfAttn = new Attention(vb.pp("self_attn"), c);
            this.layerNorm2 = new LayerNorm(vb.pp("layer_norm2"), c.hiddenSize(), c.layerNormEps());
            this.fc1 = new Linear(vb.pp("mlp").pp("fc1"), c.hiddenSize(), c.intermediateSize(), true);
            this.fc2 = new Linear(vb.pp("mlp").pp("fc2"), c.intermediateSize(), c.hiddenSize(), true);
            this.quickGelu = c.hiddenAct().equals("quick_gelu");
        }

        NDArray forward(NDArray x, NDArray mask) {
            NDArray h = layerNorm1.forward(x);
            NDArray a = selfAttn.forward(h, mask);
            h.close();
            NDArray residual = x.add(a);
            a.close();
            h = layerNorm2.forward(residual);
            NDArray up = fc1.forward(h);
            h.close();
            NDArray act = quickGelu ? Activations.quickGelu(up) : Activations.gelu(up);
            up.close();
            NDArray down = fc2.forward(act);
            act.close();
            NDArray out = residual.add(down);
            down.close();
            residual.close();
            return out;
        }
    }

    /** CLIPAttention: multi-head self-attention with q/k/v/out projections. */
    private static final class Attention {
        private final Linear qProj;
        private final Linear kProj;
        private final Linear vProj;
        private final Linear outProj;
        private final int heads;
        private final int headDim;
        private final float scale;

        Attention(Weights vb, ClipTextConfig c) {
            long h = c.hiddenSize();
            this.qProj = new Linear(vb.pp("q_proj"), h, h, true);
            this.kProj = new Linear(vb.pp("k_proj"), h, h, true);
            this.vProj = new Linear(vb.pp("v_proj"), h, h, true);
            this.outProj = new Linear(vb.pp("out_proj"), h, h, true);
            this.heads = c.numAttentionHeads();
            this.headDim = c.headDim();
            this.scale = (float) Math.pow(headDim, -0.5);
        }

        NDArray forward(NDArray x, NDArray mask) {
            long b = x.getShape().get(0);
            long l = x.getShape().get(1);
            NDArray q = splitHeads(qProj.forward(x), b, l);
            NDArray k = splitHeads(kProj.forward(x), b, l);
            NDArray v = splitHeads(vProj.forward(x), b, l);
            NDArray attended = ScaledDotProductAttention.attend(q, k, v, scale, mask);
            q.close();
            k.close();
            v.close();
            NDArray merged = attended.reshape(b, heads, l, headDim).transpose(0, 2, 1, 3).reshape(b, l, (long) heads * headDim);
            attended.close();
            NDArray out = outProj.forward(merged);
            merged.close();
            return out;
        }

        /** [B, L, H*D] -> [B*H, L, D] */
        private NDArray splitHeads(NDArray t, long b, long l) {
            NDArray split = t.reshape(b, l, heads, headDim).transpose(0, 2, 1, 3).reshape(b * heads, l, headDim);
            t.close();
            return split;
        }
    }
}
