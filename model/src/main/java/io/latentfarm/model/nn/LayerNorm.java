package io.latentfarm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.model.files.Weights;

/** torch.nn.LayerNorm over the last dimension, with affine {@code weight} and {@code bias}. */
public final class LayerNorm {
    private final NDArray weight;
    private final NDArray bias;
    private final Shape normalized;
    private final float eps;

    public LayerNorm(Weights vb, long dim, double eps) {
        this.weight = vb.get("weight", dim);
        this.bias = vb.get("bias", dim);
        this.normalized = new Shape(dim);
        this.eps = (float) eps;
    }

    public NDArray forward(NDArray x) {
        return ai.djl.nn.norm.LayerNorm.layerNorm(x, normalized, weight, bias, eps).singletonOrThrow();
    }
}
