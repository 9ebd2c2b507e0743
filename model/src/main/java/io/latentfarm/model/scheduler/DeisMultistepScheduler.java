package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.random.TorchGenerator;

import java.util.Map;

/**
 * diffusers' DEISMultistepScheduler (log-rho DEIS, orders 1 and 2): the noise prediction is
 * integrated in rho = sigma / alpha with coefficients from the exponential integrator.
 */
public final class DeisMultistepScheduler extends BaseScheduler {
    public static final String CLASS_NAME = "DEISMultistepScheduler";

    static ObjectNode defaults() {
        return SchedulerConfig.defaults(SchedulerConfig.betaDefaults(),
                "solver_order", 2, "prediction_type", "epsilon", "thresholding", false,
                "dynamic_thresholding_ratio", 0.995, "sample_max_value", 1.0, "algorithm_type", "deis",
                "solver_type", "logrho", "lower_order_final", true, "use_karras_sigmas", false,
                "use_exponential_sigmas", false, "use_beta_sigmas", false, "timestep_spacing", "linspace",
                "steps_offset", 0);
    }

    public static DeisMultistepScheduler fromConfig(JsonNode config, Map<String, ?> overrides) {
        return new DeisMultistepScheduler(SchedulerConfig.resolve(CLASS_NAME, defaults(), config, overrides));
    }

    private final int solverOrder;
    private final boolean karras;
    private final float[] trainSigmas;
    private final float[] logSigmas;
    private long[] timesteps = new long[0];
    private float[] sigmas = new float[0];
    private final NDArray[] modelOutputs;
    private int lowerOrderNums;
    private int nextStep;

    public DeisMultistepScheduler(SchedulerConfig config) {
        super(config, false);
        String algorithm = config.getString("algorithm_type");
        // diffusers maps the DPM-Solver names onto DEIS, and the other solver types onto logrho
        config.require(algorithm.equals("deis") || algorithm.equals("dpmsolver") || algorithm.equals("dpmsolver++"),
                "algorithm_type '" + algorithm + "'");
        String solverType = config.getString("solver_type");
        config.require(solverType.equals("logrho") || solverType.equals("midpoint") || solverType.equals("heun")
                || solverType.equals("bh1") || solverType.equals("bh2"), "solver_type '" + solverType + "'");
        this.solverOrder = config.getInt("solver_order");
        config.require(solverOrder == 1 || solverOrder == 2, "solver_order " + solverOrder + " (1 or 2)");
        config.require(!config.getBool("thresholding"), "thresholding");
        for (String key : new String[] {"use_exponential_sigmas", "use_beta_sigmas"}) config.require(!config.getBool(key), key);
        this.karras = config.getBool("use_karras_sigmas");
        this.trainSigmas = NoiseSchedule.trainSigmas(alphasCumprod);
        this.logSigmas = NoiseSchedule.logSigmas(trainSigmas);
        this.modelOutputs = new NDArray[solverOrder];
    }

    @Override
    public void setTimesteps(int n) {
        if (n < 1) throw new IllegalArgumentException("num_inference_steps must be >= 1, got " + n);
        NoiseSchedule.Multistep m = NoiseSchedule.Multistep.of(config, n, numTrainTimesteps, trainSigmas, logSigmas, karras);
        timesteps = m.timesteps();
        sigmas = m.sigmas();
        sigmas[timesteps.length] = karras ? sigmas[timesteps.length - 1] : NoiseSchedule.sigmaMin(alphasCumprod);
        for (int i = 0; i < modelOutputs.length; i++) {
            release(modelOutputs[i]);
            modelOutputs[i] = null;
        }
        lowerOrderNums = 0;
        nextStep = 0;
    }

    @Override
    public double[] timesteps() {
        return asDoubles(timesteps);
    }

    public float[] sigmas() {
        return sigmas.clone();
    }

    @Override
    public NDArray step(NDArray modelOutput, int stepIndex, NDArray sample, TorchGenerator generator) {
        checkIndex(stepIndex, timesteps.length);
        if (stepIndex != nextStep) {
            throw new IllegalStateException(CLASS_NAME + ": steps must be taken in order; expected step " + nextStep
                    + ", got " + stepIndex);
        }
        int steps = timesteps.length;
        boolean lowerOrderFinal = stepIndex == steps - 1 && config.getBool("lower_order_final") && steps < 15;
        NDArray evicted = modelOutputs[0];
        NDArray prev;
        try (StepScope s = new StepScope(sample, modelOutput)) {
            for (NDArray m : modelOutputs) s.use(m);
            float[] as = NoiseSchedule.alphaSigma(sigmas[stepIndex]);
            NDArray x0 = convertToX0(modelOutput, sample, as);
            NDArray eps = sample.sub(x0.mul(as[0])).div(as[1]);
            System.arraycopy(modelOutputs, 1, modelOutputs, 0, solverOrder - 1);
            modelOutputs[solverOrder - 1] = s.use(keep(eps));
            if (solverOrder == 1 || lowerOrderNums < 1 || lowerOrderFinal) {
                prev = firstOrderUpdate(eps, stepIndex, sample);
            } else {
                prev = secondOrderUpdate(stepIndex, sample);
            }
            prev = s.result(prev);
        }
        release(evicted);
        if (lowerOrderNums < solverOrder) lowerOrderNums++;
        nextStep++;
        return prev;
    }

    private NDArray convertToX0(NDArray modelOutput, NDArray sample, float[] as) {
        switch (predictionType()) {
            case "epsilon":
                return sample.sub(modelOutput.mul(as[1])).div(as[0]);
            case "sample":
                return modelOutput;
            default: // v_prediction
                return sample.mul(as[0]).sub(modelOutput.mul(as[1]));
        }
    }

    private NDArray firstOrderUpdate(NDArray m0, int i, NDArray sample) {
        float[] t = NoiseSchedule.alphaSigma(sigmas[i + 1]);
        float[] s0 = NoiseSchedule.alphaSigma(sigmas[i]);
        float h = NoiseSchedule.lambda(t) - NoiseSchedule.lambda(s0);
        return sample.mul(t[0] / s0[0]).sub(m0.mul(t[1] * ((float) Math.exp(h) - 1f)));
    }

    private NDArray secondOrderUpdate(int i, NDArray sample) {
        float[] t = NoiseSchedule.alphaSigma(sigmas[i + 1]);
        float[] s0 = NoiseSchedule.alphaSigma(sigmas[i]);
        float[] s1 = NoiseSchedule.alphaSigma(sigmas[i - 1]);
        NDArray m0 = modelOutputs[solverOrder - 1];
        NDArray m1 = modelOutputs[solverOrder - 2];
        float rhoT = t[1] / t[0];
        float rhoS0 = s0[1] / s0[0];
        float rhoS1 = s1[1] / s1[0];
        float coef1 = indFn(rhoT, rhoS0, rhoS1) - indFn(rhoS0, rhoS0, rhoS1);
        float coef2 = indFn(rhoT, rhoS1, rhoS0) - indFn(rhoS0, rhoS1, rhoS0);
        return sample.div(s0[0]).add(m0.mul(coef1)).add(m1.mul(coef2)).mul(t[0]);
    }

    /** The log-rho integral of the order-2 Lagrange basis (float32, as numpy logs of float32 tensors). */
    private static float indFn(float t, float b, float c) {
        float logT = (float) Math.log(t);
        float logB = (float) Math.log(b);
        float logC = (float) Math.log(c);
        return t * (-logC + logT - 1f) / (logB - logC);
    }

    @Override
    public void close() {
        java.util.Arrays.fill(modelOutputs, null);
        super.close();
    }
}
