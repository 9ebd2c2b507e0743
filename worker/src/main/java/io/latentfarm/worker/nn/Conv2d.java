package io.latentfarm.worker.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.worker.model.Weights;

/** torch.nn.Conv2d with square kernel, stride and padding, and a bias. */
public final class Conv2d {
    private final NDArray weight;
    private final NDArray bias;
    private final Shape stride;
    private final Shape padding;
    private static final Shape DILATION = new Shape(1, 1);

    public Conv2d(Weights vb, long in, long out, int kernel, int stride, int padding) {
        this.weight = vb.get("weight", out, in, kernel, kernel);
        this.bias = vb.get("bias", out);
        this.stride = new Shape(stride, stride);
        this.padding = new Shape(padding, padding);
    }

    public NDArray forward(NDArray x) {
        NDArray y = ai.djl.nn.convolutional.Conv2d.conv2d(x, weight, bias, stride, padding, DILATION, 1)
                .singletonOrThrow();
        if (FlopCounter.active()) {
            // 2 * every output element * (in channels * kernel area)
            FlopCounter.add(2L * y.size() * (weight.size() / weight.getShape().get(0)));
        }
        return y;
    }
}
