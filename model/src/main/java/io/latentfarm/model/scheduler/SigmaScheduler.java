package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;

/**
 * What the k-diffusion style schedulers (LMS, Euler, Euler ancestral, Heun, DPM2, DPM2 ancestral)
 * share: fractional timesteps, sigmas interpolated from the training sigmas in float64 (or Karras
 * sigmas with {@code use_karras_sigmas}) and stored as float32, inputs scaled by
 * {@code 1 / sqrt(sigma^2 + 1)}.
 */
abstract class SigmaScheduler extends BaseScheduler {
    protected final float[] trainSigmas;
    protected final float[] logSigmas;
    private final boolean karras;
    protected double[] timesteps = new double[0];
    /** One per step, plus the final sigma. */
    protected float[] sigmas;

    protected SigmaScheduler(SchedulerConfig config, boolean rescaleZeroSnr) {
        super(config, rescaleZeroSnr);
        if (rescaleZeroSnr) alphasCumprod[alphasCumprod.length - 1] = 0x1.0p-24f;
        for (String key : new String[] {"use_exponential_sigmas", "use_beta_sigmas"}) {
            if (config.values().has(key)) config.require(!config.getBool(key), key);
        }
        this.karras = config.values().has("use_karras_sigmas") && config.getBool("use_karras_sigmas");
        this.trainSigmas = NoiseSchedule.trainSigmas(alphasCumprod);
        this.logSigmas = NoiseSchedule.logSigmas(trainSigmas);
        this.sigmas = new float[trainSigmas.length + 1];
        for (int i = 0; i < trainSigmas.length; i++) sigmas[i] = trainSigmas[trainSigmas.length - 1 - i];
    }

    /** The sigma after the last step (0 unless final_sigmas_type says otherwise). */
    protected float finalSigma() {
        return 0f;
    }

    /** A Karras sigma's timestep as this class stores it (float64 unless overridden). */
    protected double karrasTimestep(double t) {
        return t;
    }

    @Override
    public void setTimesteps(int n) {
        if (n < 1) throw new IllegalArgumentException("num_inference_steps must be >= 1, got " + n);
        float[] base = NoiseSchedule.sigmaTimesteps(config, n);
        double[] ts = new double[base.length];
        double[] s = new double[base.length];
        for (int i = 0; i < base.length; i++) {
            ts[i] = base[i];
            s[i] = NoiseSchedule.interp(base[i], trainSigmas);
        }
        if (karras) {
            double min = config.isNull("sigma_min") ? s[s.length - 1] : config.getDouble("sigma_min");
            double max = config.isNull("sigma_max") ? s[0] : config.getDouble("sigma_max");
            s = NoiseSchedule.karras(min, max, n);
            ts = new double[s.length];
            for (int i = 0; i < s.length; i++) ts[i] = karrasTimestep(NoiseSchedule.sigmaToT(s[i], logSigmas));
        }
        float[] sig = new float[s.length + 1];
        for (int i = 0; i < s.length; i++) sig[i] = (float) s[i];
        sig[s.length] = finalSigma();
        setSchedule(ts, sig);
    }

    /**
     * Stores the schedule ({@code ts}: one timestep per step, {@code sig}: one sigma per step plus
     * the final one) and resets the stepping state; Heun and DPM2 interleave their second-order
     * evaluations here.
     */
    protected void setSchedule(double[] ts, float[] sig) {
        timesteps = ts;
        sigmas = sig;
        onSetTimesteps();
    }

    /** Resets subclass state after new timesteps. */
    protected void onSetTimesteps() {
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    /** The step sigmas (float32), as diffusers' {@code scheduler.sigmas}. */
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
        return scaleBySigma(sample, sigmas[stepIndex]);
    }

    protected static NDArray scaleBySigma(NDArray sample, float sigma) {
        return sample.div(sqrt(sigma * sigma + 1f));
    }

    /** x0 from the model output at sigma (epsilon, v_prediction or sample), diffusers' float32 scalar math. */
    protected NDArray predictOriginal(NDArray modelOutput, NDArray sample, float sigma) {
        switch (predictionType()) {
            case "epsilon":
                return sample.sub(modelOutput.mul(sigma));
            case "sample":
                return modelOutput;
            default: // v_prediction
                return modelOutput.mul(-sigma / sqrt(sigma * sigma + 1f)).add(sample.div(sigma * sigma + 1f));
        }
    }
}
