package io.latentfarm.model.vae;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.unet.Downsample2D;
import io.latentfarm.model.unet.ResnetBlock2D;

import java.util.ArrayList;
import java.util.List;

/** diffusers' DownEncoderBlock2D: resnets without time embedding, then a padding-0 Downsample2D. */
public final class DownEncoderBlock2D {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final Downsample2D downsampler;

    public DownEncoderBlock2D(Weights vb, int layers, long inChannels, long outChannels, int groups, double eps,
                              boolean addDownsample) {
        for (int j = 0; j < layers; j++) {
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(j), j == 0 ? inChannels : outChannels, outChannels,
                    0, groups, eps, 1.0));
        }
        this.downsampler = addDownsample
                ? new Downsample2D(vb.pp("downsamplers").pp(0), outChannels, outChannels, 0) : null;
    }

    /** @param x not closed */
    public NDArray forward(NDArray x) {
        NDArray h = x;
        for (ResnetBlock2D resnet : resnets) {
            NDArray next = resnet.forward(h, null);
            if (h != x) h.close();
            h = next;
        }
        if (downsampler != null) {
            NDArray next = downsampler.forward(h);
            if (h != x) h.close();
            h = next;
        }
        return h;
    }
}
