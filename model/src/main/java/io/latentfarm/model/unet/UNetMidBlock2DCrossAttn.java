package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.files.Weights;

/** diffusers' UNetMidBlock2DCrossAttn (one layer): resnet, transformer, resnet. */
public final class UNetMidBlock2DCrossAttn {
    private final ResnetBlock2D resnet0;
    private final Transformer2DModel attention;
    private final ResnetBlock2D resnet1;

    public UNetMidBlock2DCrossAttn(Weights vb, UNetConfig cfg) {
        int last = cfg.blocks() - 1;
        long channels = cfg.blockOutChannels()[last];
        int heads = cfg.attentionHeads()[last];
        this.resnet0 = new ResnetBlock2D(vb.pp("resnets").pp(0), channels, channels, cfg.timeEmbeddingDim(),
                cfg.normNumGroups(), cfg.normEps(), cfg.midBlockScaleFactor());
        this.attention = new Transformer2DModel(vb.pp("attentions").pp(0), heads, channels / heads, channels,
                cfg.transformerLayersPerBlock()[last], cfg.crossAttentionDim()[last], cfg.normNumGroups(),
                cfg.useLinearProjection(), false, cfg.upcastAttention());
        this.resnet1 = new ResnetBlock2D(vb.pp("resnets").pp(1), channels, channels, cfg.timeEmbeddingDim(),
                cfg.normNumGroups(), cfg.normEps(), cfg.midBlockScaleFactor());
    }

    public NDArray forward(NDArray x, NDArray temb, NDArray context) {
        NDArray h = resnet0.forward(x, temb);
        NDArray a = attention.forward(h, context);
        h.close();
        NDArray out = resnet1.forward(a, temb);
        a.close();
        return out;
    }
}
