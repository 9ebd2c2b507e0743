package io.latentfarm.model.vae;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Activations;
import io.latentfarm.model.nn.Conv2d;
import io.latentfarm.model.nn.GroupNorm;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' VAE Encoder (double_z): conv_in, DownEncoderBlock2Ds, mid block, group norm, silu,
 * conv_out to 2 * latent_channels (mean and log-variance).
 */
public final class Encoder {
    /** diffusers builds every VAE norm with this eps. */
    static final double EPS = 1e-6;
    private final Conv2d convIn;
    private final List<DownEncoderBlock2D> downBlocks = new ArrayList<>();
    private final UNetMidBlock2D midBlock;
    private final GroupNorm convNormOut;
    private final Conv2d convOut;

    public Encoder(Weights vb, VaeConfig cfg) {
        int[] channels = cfg.blockOutChannels();
        int groups = cfg.normNumGroups();
        this.convIn = new Conv2d(vb.pp("conv_in"), cfg.inChannels(), channels[0], 3, 1, 1);
        long out = channels[0];
        for (int i = 0; i < channels.length; i++) {
            long in = out;
            out = channels[i];
            downBlocks.add(new DownEncoderBlock2D(vb.pp("down_blocks").pp(i), cfg.layersPerBlock(), in, out, groups, EPS,
                    i < channels.length - 1));
        }
        long last = channels[channels.length - 1];
        this.midBlock = new UNetMidBlock2D(vb.pp("mid_block"), last, groups, EPS, cfg.midBlockAddAttention());
        this.convNormOut = new GroupNorm(vb.pp("conv_norm_out"), groups, last, EPS);
        this.convOut = new Conv2d(vb.pp("conv_out"), last, 2L * cfg.latentChannels(), 3, 1, 1);
    }

    /** @param image [B, in_channels, H, W] in [-1, 1] (not closed) */
    public NDArray forward(NDArray image) {
        NDArray h = convIn.forward(image);
        for (DownEncoderBlock2D block : downBlocks) {
            NDArray next = block.forward(h);
            h.close();
            h = next;
        }
        NDArray mid = midBlock.forward(h);
        h.close();
        NDArray normed = convNormOut.forward(mid);
        mid.close();
        NDArray act = Activations.silu(normed);
        normed.close();
        NDArray out = convOut.forward(act);
        act.close();
        return out;
    }
}
