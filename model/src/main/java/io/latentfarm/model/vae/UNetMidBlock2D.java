package io.latentfarm.model.vae;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.unet.ResnetBlock2D;

/**
 * diffusers' UNetMidBlock2D as the VAE builds it: resnet, attention (unless mid_block_add_attention
 * is false), resnet; no time embedding, eps 1e-6.
 */
public final class UNetMidBlock2D {
    private final ResnetBlock2D resnet0;
    private final AttentionBlock attention;
    private final ResnetBlock2D resnet1;

    public UNetMidBlock2D(Weights vb, long channels, int groups, double eps, boolean addAttention) {
        this.resnet0 = new ResnetBlock2D(vb.pp("resnets").pp(0), channels, channels, 0, groups, eps, 1.0);
        this.attention = addAttention ? new AttentionBlock(vb.pp("attentions").pp(0), channels, groups, eps, 1.0) : null;
        this.resnet1 = new ResnetBlock2D(vb.pp("resnets").pp(1), channels, channels, 0, groups, eps, 1.0);
    }

    public NDArray forward(NDArray x) {
        NDArray h = resnet0.forward(x, null);
        if (attention != null) {
            NDArray a = attention.forward(h);
            h.close();
            h = a;
        }
        NDArray out = resnet1.forward(h, null);
        h.close();
        return out;
    }
}
