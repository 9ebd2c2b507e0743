package io.latentfarm.model.scheduler;

/**
 * The repeat_interleave layouts of the second-order k-diffusion schedulers (Heun, DPM2): every
 * value but the first (and, for sigmas, the last) appears twice, once per model evaluation.
 */
final class Interleaved {
    private Interleaved() {
    }

    /** {@code cat([x[:1], x[1:].repeat_interleave(2)])}. */
    static double[] repeatTail(double[] x) {
        double[] out = new double[2 * x.length - 1];
        out[0] = x[0];
        for (int i = 1; i < x.length; i++) {
            out[2 * i - 1] = x[i];
            out[2 * i] = x[i];
        }
        return out;
    }

    /** {@code cat([x[:1], x[1:-1].repeat_interleave(2), x[-1:]])}. */
    static float[] repeatMiddle(float[] x) {
        int n = x.length;
        float[] out = new float[2 * n - 2];
        out[0] = x[0];
        for (int i = 1; i < n - 1; i++) {
            out[2 * i - 1] = x[i];
            out[2 * i] = x[i];
        }
        out[out.length - 1] = x[n - 1];
        return out;
    }

    /** {@code cat([x[:1], x[1:].repeat_interleave(2), x[-1:]])}. */
    static float[] repeatTailAndLast(float[] x) {
        int n = x.length;
        float[] out = new float[2 * n];
        out[0] = x[0];
        for (int i = 1; i < n; i++) {
            out[2 * i - 1] = x[i];
            out[2 * i] = x[i];
        }
        out[out.length - 1] = x[n - 1];
        return out;
    }

    /** {@code x.log().lerp(y.log(), 0.5).exp()} in float32, torch's lerp formula for weight 0.5. */
    static float geometricMean(float x, float y) {
        float a = (float) Math.log(x);
        float b = (float) Math.log(y);
        return (float) Math.exp(b - (b - a) * 0.5f);
    }

    /**
     * DPM2's timesteps: {@code [t0, ti(a), t1, ti(a+1), t2, ...]}, the timestep of each midpoint sigma
     * (float32 {@code _sigma_to_t}) before each step's
     * timestep; {@code interpolOffset} is the first midpoint used (1 for DPM2, 0 for DPM2 ancestral).
     */
    static double[] withMidpoints(double[] ts, float[] sigmasInterpol, float[] logSigmas, int interpolOffset) {
        double[] out = new double[2 * ts.length - 1];
        out[0] = ts[0];
        for (int k = 1; k < ts.length; k++) {
            out[2 * k - 1] = NoiseSchedule.sigmaToT(sigmasInterpol[k - 1 + interpolOffset], logSigmas);
            out[2 * k] = ts[k];
        }
        return out;
    }
}
