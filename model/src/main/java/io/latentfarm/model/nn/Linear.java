package io.latentfarm.model.nn;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.files.Weights;

/** torch.nn.Linear: {@code weight} [out, in], optional {@code bias} [out]; bf16 math when the weights say so. */
public final class Linear {
    private final NDArray weight;
    private final NDArray bias;
    private final boolean bf16;
    private final long in;

    public Linear(Weights vb, long in, long out, boolean bias) {
        this.bf16 = vb.bf16();
        this.weight = bf16 ? Bf16Ops.holdAndClose(vb.getTransient("weight", out, in)) : vb.get("weight", out, in);
        this.bias = !bias ? null : bf16 ? Bf16Ops.holdAndClose(vb.getTransient("bias", out)) : vb.get("bias", out);
        this.in = in;
    }

    public NDArray forward(NDArray x) {
        NDArray y = bf16 ? Bf16Ops.linear(x, weight, bias) : ai.djl.nn.core.Linear.linear(x, weight, bias).singletonOrThrow();
        if (FlopCounter.active()) {
            FlopCounter.add(2L * y.size() * in);
        }
        return y;
    }
}
