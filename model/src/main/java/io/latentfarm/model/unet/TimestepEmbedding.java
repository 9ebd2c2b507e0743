package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Activations;
import io.latentfarm.model.nn.Linear;

/** diffusers' TimestepEmbedding: linear_1, silu, linear_2; float32 in the mixed bf16 split (it is tiny). */
public final class TimestepEmbedding {
    private final Linear linear1;
    private final Linear linear2;

    public TimestepEmbedding(Weights vb, long inChannels, long timeEmbedDim) {
        vb = vb.withoutBf16();
        this.linear1 = new Linear(vb.pp("linear_1"), inChannels, timeEmbedDim, true);
        this.linear2 = new Linear(vb.pp("linear_2"), timeEmbedDim, timeEmbedDim, true);
    }

    public NDArray forward(NDArray x) {
        NDArray h = linear1.forward(x);
        NDArray a = Activations.silu(h);
        h.close();
        NDArray out = linear2.forward(a);
        a.close();
        return out;
    }
}
