package io.latentfarm.model.vae;

import ai.djl.ndarray.NDArray;

/**
 * The VAE encoder's diagonal Gaussian (diffusers' DiagonalGaussianDistribution): mean and
 * log-variance [B, latent_channels, h, w], the log-variance clamped to [-30, 20]. Owns both arrays.
 */
public record EncodedLatents(NDArray mean, NDArray logvar) implements AutoCloseable {

    /** exp(0.5 * logvar); the caller owns the result. */
    public NDArray std() {
        NDArray half = logvar.mul(0.5f);
        NDArray std = half.exp();
        half.close();
        return std;
    }

    /** mean + std * noise (noise ~ N(0, 1) of the mean's shape); the caller owns the result. */
    public NDArray sample(NDArray noise) {
        NDArray scaled = std();
        scaled.muli(noise);
        // mean first so the result lands in the mean's manager, like every other output of encode.
        NDArray out = mean.add(scaled);
        scaled.close();
        return out;
    }

    @Override
    public void close() {
        mean.close();
        logvar.close();
    }
}
