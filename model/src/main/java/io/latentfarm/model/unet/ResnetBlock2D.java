package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Activations;
import io.latentfarm.model.nn.Conv2d;
import io.latentfarm.model.nn.GroupNorm;
import io.latentfarm.model.nn.Linear;

/**
 * diffusers' ResnetBlock2D (time_embedding_norm "default", pre-norm, silu): norm1, silu, conv1,
 * plus the projected time embedding, norm2, silu, conv2, plus the input (through a 1x1
 * conv_shortcut when the channel count changes), divided by output_scale_factor. The UNet's
 * blocks pass a time embedding; the VAE's have none ({@code timeEmbeddingChannels} 0).
 */
public final class ResnetBlock2D {
    private final GroupNorm norm1;
    private final Conv2d conv1;
    private final Linear timeEmbProj;
    private final GroupNorm norm2;
    private final Conv2d conv2;
    private final Conv2d convShortcut;
    private final long outChannels;
    private final double outputScaleFactor;

    public ResnetBlock2D(Weights vb, long inChannels, long outChannels, long timeEmbeddingChannels,
                         int groups, double eps, double outputScaleFactor) {
        this.norm1 = new GroupNorm(vb.pp("norm1"), groups, inChannels, eps);
        this.conv1 = new Conv2d(vb.pp("conv1"), inChannels, outChannels, 3, 1, 1);
        this.timeEmbProj = timeEmbeddingChannels > 0
                ? new Linear(vb.pp("time_emb_proj"), timeEmbeddingChannels, outChannels, true) : null;
        this.norm2 = new GroupNorm(vb.pp("norm2"), groups, outChannels, eps);
        this.conv2 = new Conv2d(vb.pp("conv2"), outChannels, outChannels, 3, 1, 1);
        this.convShortcut = inChannels != outChannels
                ? new Conv2d(vb.pp("conv_shortcut"), inChannels, outChannels, 1, 1, 0) : null;
        this.outChannels = outChannels;
        this.outputScaleFactor = outputScaleFactor;
    }

    /**
     * @param x [B, in, H, W] (not closed)
     * @param temb [B, time_embedding_channels] before its silu, or null for the VAE (not closed)
     */
    public NDArray forward(NDArray x, NDArray temb) {
        NDArray hn1 = silu(norm1.forward(x));
        NDArray h = conv1.forward(hn1);
        hn1.close();
        if (timeEmbProj != null) {
            if (temb == null) {
                throw new IllegalArgumentException("this ResnetBlock2D needs a time embedding");
            }
            NDArray act = Activations.silu(temb);
            NDArray t = timeEmbProj.forward(act);
            act.close();
            try (NDArray t4 = t.reshape(t.getShape().get(0), outChannels, 1, 1)) {
                h.addi(t4);
            }
            t.close();
        }
        NDArray hn = silu(norm2.forward(h));
        h.close();
        NDArray out = conv2.forward(hn);
        hn.close();
        if (convShortcut != null) {
            try (NDArray shortcut = convShortcut.forward(x)) {
                out.addi(shortcut);
            }
        } else {
            out.addi(x);
        }
        if (outputScaleFactor != 1.0) {
            out.divi((float) outputScaleFactor);
        }
        return out;
    }

    /** silu of a temporary, which it closes. */
    static NDArray silu(NDArray owned) {
        NDArray out = Activations.silu(owned);
        owned.close();
        return out;
    }
}
