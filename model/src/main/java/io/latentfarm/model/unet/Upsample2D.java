package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Conv2d;

/**
 * diffusers' Upsample2D with a conv: nearest-neighbour 2x (or to an explicit size, which the UNet
 * passes when a skip connection has an odd size), then a 3x3 conv.
 */
public final class Upsample2D {
    private final Conv2d conv;

    public Upsample2D(Weights vb, long channels, long outChannels) {
        this.conv = new Conv2d(vb.pp("conv"), channels, outChannels, 3, 1, 1);
    }

    /** @param outputSize {height, width} to resize to, or null for twice the input size */
    public NDArray forward(NDArray x, long[] outputSize) {
        Shape s = x.getShape();
        long[] size = outputSize != null ? outputSize : new long[]{s.get(2) * 2, s.get(3) * 2};
        try (NDArray up = x.getNDArrayInternal().interpolation(size, 0, false)) {
            return conv.forward(up);
        }
    }
}
