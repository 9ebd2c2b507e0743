package io.latentfarm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.model.files.Weights;

/**
 * torch.nn.GroupNorm on NCHW. DJL has no group norm: normalise [N, G, C/G*H*W] with a layer norm
 * over the last axis (no affine), then apply the per-channel weight and bias (error ~5e-7).
 */
public final class GroupNorm {
    private final int groups;
    private final long channels;
    private final float eps;
    private final NDArray weight;
    private final NDArray bias;

    public GroupNorm(Weights vb, int groups, long channels, double eps) {
        if (channels % groups != 0) {
            throw new IllegalArgumentException(vb.prefix() + ": " + channels + " channels do not split into " + groups + " groups");
        }
        this.groups = groups;
        this.channels = channels;
        this.eps = (float) eps;
        this.weight = vb.get("weight", channels).reshape(1, channels, 1, 1);
        this.bias = vb.get("bias", channels).reshape(1, channels, 1, 1);
    }

    public NDArray forward(NDArray x) {
        Shape s = x.getShape();
        long per = s.size() / (s.get(0) * groups);
        NDArray grouped = x.reshape(s.get(0), groups, per);
        // DJL's layerNorm needs an affine pair (null fails in JNI): identity ones/zeros of the group size.
        NDArray normed;
        try (NDArray ones = x.getManager().ones(new Shape(per), x.getDataType(), x.getDevice());
             NDArray zeros = x.getManager().zeros(new Shape(per), x.getDataType(), x.getDevice())) {
            normed = ai.djl.nn.norm.LayerNorm.layerNorm(grouped, new Shape(per), ones, zeros, eps).singletonOrThrow();
        }
        grouped.close();
        // The affine step runs in place on the fresh normalised tensor: no further copies.
        NDArray out = normed.reshape(s).muli(weight).addi(bias);
        if (out != normed) {
            normed.close();
        }
        return out;
    }

    public long channels() {
        return channels;
    }
}
