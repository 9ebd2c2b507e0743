package io.latentfarm.worker.scheduler;

import ai.djl.ndarray.NDArray;

/**
 * What the k-diffusion style schedulers (LMS, Euler, Euler ancestral) share: fractional timesteps,
 * sigmas interpolated from the training sigmas in float64 and stored as float32, inputs scaled by
 * {@code 1 / sqrt(sigma^2 + 1)}.
 */
abstract class SigmaScheduler extends BaseScheduler {
    protected final float[] trainSigmas;
    protected float[] timesteps = new float[0];
    /** One per step, plus the final sigma. */
    protected float[] sigmas;

    protected SigmaScheduler(SchedulerConfig config, boolean rescaleZeroSnr) {
        super(config, rescaleZeroSnr);
        if (rescaleZeroSnr) alphasCumprod[alphasCumprod.length - 1] = 0x1.0p-24f;
        for (String key : new String[] {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"}) {
            if (config.values().has(key)) config.require(!config.getBool(key), key);
        }
        this.trainSigmas = NoiseSchedule.trainSigmas(alphasCumprod);
        this.sigmas = new float[trainSigmas.length + 1];
        for (int i = 0; i < trainSigmas.length; i++) sigmas[i] = trainSigmas[trainSigmas.length - 1 - i];
    }

    /** The sigma after the last step (0 unless final_sigmas_type says otherwise). */
    protected float finalSigma() {
        return 0f;
    }

    @Override
    public void setTimesteps(int n) {
        if (n < 1) throw new IllegalArgumentException("num_inference_steps must be >= 1, got " + n);
        timesteps = NoiseSchedule.sigmaTimesteps(config, n);
        sigmas = NoiseSchedule.interpolatedSigmas(timesteps, trainSigmas, finalSigma());
        onSetTimesteps();
    }

    /** Resets subclass state after new timesteps. */
    protected void onSetTimesteps() {
    }

    @Override
    public double[] timesteps() {
        double[] out = new double[timesteps.length];
        for (int i = 0; i < out.length; i++) out[i] = timesteps[i];
        return out;
    }

    /** The step sigmas (float32), one per step plus the final one. */
    public float[] sigmas() {
        return sigmas.clone();
    }

    @Override
    public double initNoiseSigma() {
        float max = NoiseSchedule.max(sigmas);
        String spacing = config.getString("timestep_spacing");
        if (spacing.equals("linspace") || spacing.equals("trailing")) return max;
        return sqrt(max * max + 1f);
    }

    @Override
    public NDArray scaleModelInput(NDArray sample, int stepIndex) {
        checkIndex(stepIndex, timesteps.length);
        float sigma = sigmas[stepIndex];
        return sample.div(sqrt(sigma * sigma + 1f));
    }
}
