package io.latentfarm.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.model.files.Configs;
import io.latentfarm.model.files.ModelException;

/**
 * {@code text_encoder/config.json} of a CLIPTextModel. Absent keys take transformers'
 * CLIPTextConfig defaults; unknown keys are ignored.
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                             int numAttentionHeads, int maxPositionEmbeddings, double layerNormEps,
                             String hiddenAct) {

    public ClipTextConfig {
        if (hiddenSize % numAttentionHeads != 0) {
            throw new ModelException("text_encoder config: hidden_size " + hiddenSize
                    + " is not a multiple of num_attention_heads " + numAttentionHeads);
        }
        if (!hiddenAct.equals("quick_gelu") && !hiddenAct.equals("gelu")) {
            throw new ModelException("text_encoder config: hidden_act '" + hiddenAct
                    + "' is not supported (quick_gelu or gelu)");
        }
    }

    /** SD v1's text encoder (CLIP ViT-L/14) needs its config.json; these are only transformers' defaults. */
    public static ClipTextConfig from(JsonNode n) {
        return new ClipTextConfig(
                Configs.getInt(n, "vocab_size", 49408),
                Configs.getInt(n, "hidden_size", 512),
                Configs.getInt(n, "intermediate_size", 2048),
                Configs.getInt(n, "num_hidden_layers", 12),
                Configs.getInt(n, "num_attention_heads", 8),
                Configs.getInt(n, "max_position_embeddings", 77),
                Configs.getDouble(n, "layer_norm_eps", 1e-5),
                Configs.getString(n, "hidden_act", "quick_gelu"));
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }
}
