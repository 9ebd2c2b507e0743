package io.latentfarm.model.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Conv2d;

import java.util.function.BiConsumer;

/**
 * diffusers' AutoencoderKL: encode an image to the latent Gaussian (encoder, quant_conv), decode
 * latents to an image (post_quant_conv, decoder). No scaling here: the pipeline divides latents by
 * {@link VaeConfig#scalingFactor()} before {@link #decode}.
 */
public final class AutoencoderKL {
    private final VaeConfig cfg;
    private final Weights vb;
    private final Conv2d postQuantConv;
    private final Decoder decoder;
    private Encoder encoder;
    private Conv2d quantConv;

    /** Loads the decoder; the encoder's weights are loaded on the first {@link #encode}. */
    public AutoencoderKL(VaeConfig cfg, Weights vb) {
        this.cfg = cfg;
        this.vb = vb;
        long latent = cfg.latentChannels();
        this.postQuantConv = cfg.usePostQuantConv()
                ? new Conv2d(vb.pp("post_quant_conv"), latent, latent, 1, 1, 0) : null;
        this.decoder = new Decoder(vb.pp("decoder"), cfg);
    }

    public VaeConfig config() {
        return cfg;
    }

    /** Image [B, out_channels, 8h, 8w], about [-1, 1], from latents [B, latent_channels, h, w]. */
    public NDArray decode(NDArray z) {
        return decode(z, null);
    }

    /** @param tap if not null, sees "decoder.mid_block" during the call */
    public NDArray decode(NDArray z, BiConsumer<String, NDArray> tap) {
        Shape s = z.getShape();
        if (s.dimension() != 4 || s.get(1) != cfg.latentChannels()) {
            throw new IllegalArgumentException("VAE latents must be [batch, " + cfg.latentChannels() + ", h, w], got " + s);
        }
        BiConsumer<String, NDArray> decoderTap = tap == null ? null : (k, v) -> tap.accept("decoder." + k, v);
        if (postQuantConv == null) {
            return decoder.forward(z, decoderTap);
        }
        try (NDArray h = postQuantConv.forward(z)) {
            return decoder.forward(h, decoderTap);
        }
    }

    /** The latent distribution of an image [B, in_channels, H, W] in [-1, 1]; the caller closes it. */
    public EncodedLatents encode(NDArray image) {
        Shape s = image.getShape();
        if (s.dimension() != 4 || s.get(1) != cfg.inChannels()) {
            throw new IllegalArgumentException("VAE images must be [batch, " + cfg.inChannels() + ", H, W], got " + s);
        }
        loadEncoder();
        NDArray moments = encoder.forward(image);
        if (quantConv != null) {
            NDArray q = quantConv.forward(moments);
            moments.close();
            moments = q;
        }
        NDArray mean;
        NDArray logvar;
        try (NDList halves = moments.split(2, 1)) {
            mean = halves.get(0).duplicate();
            // clamp(-30, 20); DJL's clip(Number, Number) leaves two scalar arrays open, maximum/minimum do not.
            try (NDArray floor = halves.get(1).maximum(-30f)) {
                logvar = floor.minimum(20f);
            }
        }
        moments.close();
        return new EncodedLatents(mean, logvar);
    }

    /** Loads the encoder's weights now instead of on the first {@link #encode} (a complete random model records them). */
    public synchronized void loadEncoder() {
        if (encoder == null) {
            long moments = 2L * cfg.latentChannels();
            quantConv = cfg.useQuantConv() ? new Conv2d(vb.pp("quant_conv"), moments, moments, 1, 1, 0) : null;
            encoder = new Encoder(vb.pp("encoder"), cfg);
        }
    }
}
