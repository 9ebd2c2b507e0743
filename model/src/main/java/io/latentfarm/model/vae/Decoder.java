package io.latentfarm.model.vae;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Activations;
import io.latentfarm.model.nn.Conv2d;
import io.latentfarm.model.nn.GroupNorm;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * diffusers' VAE Decoder: conv_in, mid block, UpDecoderBlock2Ds (block_out_channels reversed,
 * layers_per_block + 1 resnets each), group norm, silu, conv_out.
 */
public final class Decoder {
    private final Conv2d convIn;
    private final UNetMidBlock2D midBlock;
    private final List<UpDecoderBlock2D> upBlocks = new ArrayList<>();
    private final GroupNorm convNormOut;
    private final Conv2d convOut;

    public Decoder(Weights vb, VaeConfig cfg) {
        int[] channels = cfg.blockOutChannels();
        int groups = cfg.normNumGroups();
        int n = channels.length;
        long last = channels[n - 1];
        this.convIn = new Conv2d(vb.pp("conv_in"), cfg.latentChannels(), last, 3, 1, 1);
        this.midBlock = new UNetMidBlock2D(vb.pp("mid_block"), last, groups, Encoder.EPS, cfg.midBlockAddAttention());
        long out = last;
        for (int i = 0; i < n; i++) {
            long prev = out;
            out = channels[n - 1 - i];
            upBlocks.add(new UpDecoderBlock2D(vb.pp("up_blocks").pp(i), cfg.layersPerBlock() + 1, prev, out, groups,
                    Encoder.EPS, i < n - 1));
        }
        this.convNormOut = new GroupNorm(vb.pp("conv_norm_out"), groups, channels[0], Encoder.EPS);
        this.convOut = new Conv2d(vb.pp("conv_out"), channels[0], cfg.outChannels(), 3, 1, 1);
    }

    /**
     * @param z [B, latent_channels, h, w] after post_quant_conv (not closed)
     * @param tap if not null, sees "mid_block" (the mid block's output) during the call
     */
    public NDArray forward(NDArray z, BiConsumer<String, NDArray> tap) {
        NDArray h = convIn.forward(z);
        NDArray mid = midBlock.forward(h);
        h.close();
        if (tap != null) {
            tap.accept("mid_block", mid);
        }
        h = mid;
        for (UpDecoderBlock2D block : upBlocks) {
            NDArray next = block.forward(h);
            h.close();
            h = next;
        }
        NDArray normed = convNormOut.forward(h);
        h.close();
        NDArray act = Activations.silu(normed);
        normed.close();
        NDArray out = convOut.forward(act);
        act.close();
        return out;
    }
}
