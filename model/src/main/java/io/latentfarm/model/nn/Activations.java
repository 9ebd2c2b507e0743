package io.latentfarm.model.nn;

import ai.djl.ndarray.NDArray;

/** The activations SD v1 uses. DJL has no silu, so it is x * sigmoid(x). */
public final class Activations {
    private Activations() {
    }

    /** x * sigmoid(x), with one allocation (the sigmoid is scaled in place). */
    public static NDArray silu(NDArray x) {
        return x.getNDArrayInternal().sigmoid().muli(x);
    }

    /** Exact (erf) GELU, as torch.nn.functional.gelu with approximate='none'. */
    public static NDArray gelu(NDArray x) {
        return ai.djl.nn.Activation.gelu(x);
    }

    /** CLIP's quick_gelu: x * sigmoid(1.702 x). */
    public static NDArray quickGelu(NDArray x) {
        return x.mul(x.mul(1.702f).getNDArrayInternal().sigmoid());
    }
}
