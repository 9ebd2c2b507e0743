package io.latentfarm.model.vae;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.unet.ResnetBlock2D;
import io.latentfarm.model.unet.Upsample2D;

import java.util.ArrayList;
import java.util.List;

/** diffusers' UpDecoderBlock2D: resnets without time embedding, then an optional 2x Upsample2D. */
public final class UpDecoderBlock2D {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final Upsample2D upsampler;

    public UpDecoderBlock2D(Weights vb, int layers, long inChannels, long outChannels, int groups, double eps,
                            boolean addUpsample) {
        for (int j = 0; j < layers; j++) {
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(j), j == 0 ? inChannels : outChannels, outChannels,
                    0, groups, eps, 1.0));
        }
        this.upsampler = addUpsample ? new Upsample2D(vb.pp("upsamplers").pp(0), outChannels, outChannels) : null;
    }

    /** @param x not closed */
    public NDArray forward(NDArray x) {
        NDArray h = x;
        for (ResnetBlock2D resnet : resnets) {
            NDArray next = resnet.forward(h, null);
            if (h != x) h.close();
            h = next;
        }
        if (upsampler != null) {
            NDArray next = upsampler.forward(h, null);
            if (h != x) h.close();
            h = next;
        }
        return h;
    }
}
