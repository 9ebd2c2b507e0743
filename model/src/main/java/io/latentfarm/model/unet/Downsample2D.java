package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Conv2d;

/**
 * diffusers' Downsample2D with a conv: a 3x3 stride-2 conv. With padding 0 (the VAE encoder's
 * downsample_padding) diffusers first pads right and bottom by one, so odd and even sizes halve the
 * same way as the UNet's symmetric padding 1.
 */
public final class Downsample2D {
    private static final Shape RIGHT_BOTTOM = new Shape(0, 1, 0, 1);
    private final Conv2d conv;
    private final boolean padRightBottom;

    public Downsample2D(Weights vb, long channels, long outChannels, int padding) {
        this.conv = new Conv2d(vb.pp("conv"), channels, outChannels, 3, 2, padding);
        this.padRightBottom = padding == 0;
    }

    public NDArray forward(NDArray x) {
        if (!padRightBottom) {
            return conv.forward(x);
        }
        try (NDArray padded = x.pad(RIGHT_BOTTOM, 0)) {
            return conv.forward(padded);
        }
    }
}
