package io.latentfarm.worker.nn;

import ai.djl.ndarray.NDArray;
import io.latentfarm.worker.model.Weights;

/** torch.nn.Linear: {@code weight} [out, in], optional {@code bias} [out]. */
public final class Linear {
    private final NDArray weight;
    private final NDArray bias;

    public Linear(Weights vb, long in, long out, boolean bias) {
        this.weight = vb.get("weight", out, in);
        this.bias = bias ? vb.get("bias", out) : null;
    }

    public NDArray forward(NDArray x) {
        NDArray y = ai.djl.nn.core.Linear.linear(x, weight, bias).singletonOrThrow();
        if (FlopCounter.active()) {
            FlopCounter.add(2L * y.size() * weight.getShape().get(1));
        }
        return y;
    }
}
