package io.latentfarm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.model.files.Weights;

/** torch.nn.Conv2d with square kernel, stride and padding, and a bias; bf16 math when the weights say so. */
public final class Conv2d {
    private final NDArray weight;
    private final NDArray bias;
    private final int stride;
    private final int padding;
    private final boolean bf16;
    /** in channels * kernel area: the multiply-adds per output element */
    private final long fanIn;
    private static final Shape DILATION = new Shape(1, 1);

    public Conv2d(Weights vb, long in, long out, int kernel, int stride, int padding) {
        this.bf16 = vb.bf16();
        if (bf16) {
            Bf16Ops.checkConv(vb.prefix() + "weight", stride, padding);
        }
        this.weight = bf16 ? Bf16Ops.holdAndClose(vb.getTransient("weight", out, in, kernel, kernel))
                : vb.get("weight", out, in, kernel, kernel);
        this.bias = bf16 ? Bf16Ops.holdAndClose(vb.getTransient("bias", out)) : vb.get("bias", out);
        this.stride = stride;
        this.padding = padding;
        this.fanIn = in * kernel * kernel;
    }

    public NDArray forward(NDArray x) {
        NDArray y = bf16 ? Bf16Ops.conv2d(x, weight, bias, stride, padding)
                : ai.djl.nn.convolutional.Conv2d.conv2d(x, weight, bias, new Shape(stride, stride),
                        new Shape(padding, padding), DILATION, 1).singletonOrThrow();
        if (FlopCounter.active()) {
            FlopCounter.add(2L * y.size() * fanIn);
        }
        return y;
    }
}
