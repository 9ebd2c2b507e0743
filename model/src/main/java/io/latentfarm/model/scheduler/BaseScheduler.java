package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * What every scheduler shares: its resolved config, betas / alphas_cumprod (float32, diffusers'
 * dtype path), and a manager for the tensors kept between steps.
 */
abstract class BaseScheduler implements Scheduler {
    protected final SchedulerConfig config;
    protected final int numTrainTimesteps;
    protected final float[] betas;
    protected final float[] alphasCumprod;
    private NDManager state;

    protected BaseScheduler(SchedulerConfig config, boolean rescaleZeroSnr) {
        this.config = config;
        this.numTrainTimesteps = config.getInt("num_train_timesteps");
        float[] b = NoiseSchedule.betas(config);
        if (b.length != numTrainTimesteps) {
            throw new IllegalArgumentException(config.className() + ": trained_betas has " + b.length
                    + " values, num_train_timesteps is " + numTrainTimesteps);
        }
        if (rescaleZeroSnr) b = NoiseSchedule.rescaleZeroTerminalSnr(b);
        this.betas = b;
        this.alphasCumprod = NoiseSchedule.cumprod(NoiseSchedule.alphas(b));
        String prediction = config.getString("prediction_type");
        config.require(prediction.equals("epsilon") || prediction.equals("v_prediction") || prediction.equals("sample"),
                "prediction_type '" + prediction + "'");
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    public float[] betas() {
        return betas.clone();
    }

    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    @Override
    public int order() {
        return 1;
    }

    /** 1 unless the scheduler works in sigma space. */
    @Override
    public double initNoiseSigma() {
        return 1.0;
    }

    /** The sample itself unless the scheduler works in sigma space. */
    @Override
    public NDArray scaleModelInput(NDArray sample, int stepIndex) {
        return sample;
    }

    protected static double[] asDoubles(long[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < out.length; i++) out[i] = values[i];
        return out;
    }

    protected String predictionType() {
        return config.getString("prediction_type");
    }

    /** A copy of {@code a} kept across steps in this scheduler's own manager. */
    protected NDArray keep(NDArray a) {
        if (state == null) state = NDManager.newBaseManager(a.getDevice());
        NDArray kept = a.duplicate();
        kept.attach(state);
        return kept;
    }

    protected static void release(NDArray a) {
        if (a != null) a.close();
    }

    protected void checkIndex(int stepIndex, int steps) {
        if (steps == 0) throw new IllegalStateException(config.className() + ": call setTimesteps before stepping");
        if (stepIndex < 0 || stepIndex >= steps) {
            throw new IndexOutOfBoundsException(config.className() + ": step " + stepIndex + " of " + steps);
        }
    }

    @Override
    public void close() {
        if (state != null) {
            state.close();
            state = null;
        }
    }

    static float sqrt(float x) {
        return (float) Math.sqrt(x);
    }
}
