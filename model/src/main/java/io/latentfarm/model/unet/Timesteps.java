package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * diffusers' Timesteps / get_timestep_embedding: the sinusoidal embedding of float timesteps,
 * sin then cos (swapped to cos then sin with flip_sin_to_cos), frequencies
 * exp(-ln(10000) * i / (half - freq_shift)). Computed in float32 with the same op order as
 * diffusers, on the timesteps' device; no weights.
 */
public final class Timesteps {
    private static final double MAX_PERIOD = 10000;
    private final int channels;
    private final boolean flipSinToCos;
    private final double downscaleFreqShift;

    public Timesteps(int channels, boolean flipSinToCos, double downscaleFreqShift) {
        this.channels = channels;
        this.flipSinToCos = flipSinToCos;
        this.downscaleFreqShift = downscaleFreqShift;
    }

    /** @param timesteps float32 [B]; returns float32 [B, channels] */
    public NDArray forward(NDArray timesteps) {
        int half = channels / 2;
        NDManager m = timesteps.getManager();
        long batch = timesteps.getShape().get(0);
        NDArray freqs = m.arange(0, half, 1, DataType.FLOAT32, timesteps.getDevice());
        freqs.muli((float) -Math.log(MAX_PERIOD)).divi((float) (half - downscaleFreqShift));
        NDArray exp = freqs.exp();
        freqs.close();
        NDArray args;
        try (NDArray t = timesteps.reshape(batch, 1); NDArray f = exp.reshape(1, half)) {
            args = t.mul(f);
        }
        exp.close();
        NDArray sin = args.sin();
        NDArray cos = args.cos();
        args.close();
        NDArray emb = flipSinToCos ? cos.concat(sin, 1) : sin.concat(cos, 1);
        sin.close();
        cos.close();
        if (channels % 2 == 1) {
            NDArray padded = emb.pad(new Shape(0, 1), 0);
            emb.close();
            emb = padded;
        }
        return emb;
    }

    public int channels() {
        return channels;
    }
}
