package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Activations;
import io.latentfarm.model.nn.Linear;

/**
 * diffusers' FeedForward with the GEGLU activation: net.0.proj maps dim to 2*inner, the first half
 * is gated by gelu of the second half, net.2 maps inner back to dim (net.1 is dropout).
 */
public final class FeedForward {
    private final Linear proj;
    private final Linear out;
    private final long inner;

    public FeedForward(Weights vb, long dim, long inner) {
        this.proj = new Linear(vb.pp("net").pp(0).pp("proj"), dim, inner * 2, true);
        this.out = new Linear(vb.pp("net").pp(2), inner, dim, true);
        this.inner = inner;
    }

    public NDArray forward(NDArray x) {
        NDArray projected = proj.forward(x);
        NDArray gated;
        try (NDList halves = projected.split(new long[]{inner}, projected.getShape().dimension() - 1)) {
            gated = Activations.gelu(halves.get(1)).muli(halves.get(0));
        }
        projected.close();
        NDArray result = out.forward(gated);
        gated.close();
        return result;
    }
}
