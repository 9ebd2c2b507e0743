package io.latentfarm.model.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.List;

/** Prompts to the UNet's encoder_hidden_states: tokenize each, then one batched text encoder pass. */
public final class TextEncoding {
    private final ClipTokenizer tokenizer;
    private final ClipTextModel model;

    public TextEncoding(ClipTokenizer tokenizer, ClipTextModel model) {
        this.tokenizer = tokenizer;
        this.model = model;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public ClipTextModel model() {
        return model;
    }

    /** The token ids of the prompts as an int64 [B, maxLength] array in {@code manager}. */
    public NDArray inputIds(NDManager manager, List<String> prompts) {
        int length = tokenizer.maxLength();
        long[] ids = new long[prompts.size() * length];
        for (int i = 0; i < prompts.size(); i++) {
            System.arraycopy(tokenizer.encode(prompts.get(i)).ids(), 0, ids, i * length, length);
        }
        return manager.create(ids, new Shape(prompts.size(), length));
    }

    /** last_hidden_state [B, maxLength, hidden] in {@code manager}. */
    public NDArray encode(NDManager manager, List<String> prompts) {
        try (NDArray ids = inputIds(manager, prompts)) {
            return model.forward(ids);
        }
    }
}
