package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.random.TorchGenerator;

import java.util.Map;

/**
 * diffusers' KDPM2DiscreteScheduler (k-diffusion's DPM-Solver-2, "DPM2"): each step evaluates the
 * model at the geometric midpoint sigma, then takes the full step with that derivative; 2n - 1
 * model calls for n steps, {@code order} 2.
 */
public final class KDpm2DiscreteScheduler extends SigmaScheduler {
    public static final String CLASS_NAME = "KDPM2DiscreteScheduler";

    static ObjectNode defaults() {
        return SchedulerConfig.defaults(SchedulerConfig.betaDefaults(),
                "beta_start", 0.00085, "beta_end", 0.012, "use_karras_sigmas", false, "use_exponential_sigmas", false,
                "use_beta_sigmas", false, "prediction_type", "epsilon", "timestep_spacing", "linspace",
                "steps_offset", 0);
    }

    public static KDpm2DiscreteScheduler fromConfig(JsonNode config, Map<String, ?> overrides) {
        return new KDpm2DiscreteScheduler(SchedulerConfig.resolve(CLASS_NAME, defaults(), config, overrides));
    }

    private float[] sigmasInterpol = new float[0];
    private NDArray firstSample;

    public KDpm2DiscreteScheduler(SchedulerConfig config) {
        super(config, false);
        config.require(!predictionType().equals("sample"), "prediction_type 'sample'");
    }

    @Override
    public int order() {
        return 2;
    }

    @Override
    protected double karrasTimestep(double t) {
        return Math.rint(t);
    }

    @Override
    protected void setSchedule(double[] ts, float[] sig) {
        int n = sig.length;
        float[] interpol = new float[n];
        for (int k = 0; k < n; k++) interpol[k] = Interleaved.geometricMean(sig[k], sig[(k + n - 1) % n]);
        sigmasInterpol = Interleaved.repeatTailAndLast(interpol);
        super.setSchedule(Interleaved.withMidpoints(ts, interpol, logSigmas, 1),
                Interleaved.repeatTailAndLast(sig));
    }

    @Override
    protected void onSetTimesteps() {
        release(firstSample);
        firstSample = null;
    }

    @Override
    public NDArray scaleModelInput(NDArray sample, int stepIndex) {
        checkIndex(stepIndex, timesteps.length);
        return scaleBySigma(sample, firstSample == null ? sigmas[stepIndex] : sigmasInterpol[stepIndex]);
    }

    @Override
    public NDArray step(NDArray modelOutput, int stepIndex, NDArray sample, TorchGenerator generator) {
        checkIndex(stepIndex, timesteps.length);
        boolean first = firstSample == null;
        float sigma = first ? sigmas[stepIndex] : sigmas[stepIndex - 1];
        float sigmaInterpol = first ? sigmasInterpol[stepIndex + 1] : sigmasInterpol[stepIndex];
        float sigmaNext = first ? sigmas[stepIndex + 1] : sigmas[stepIndex];
        NDArray prev;
        try (StepScope s = new StepScope(sample, modelOutput, firstSample)) {
            NDArray predOriginal = predictOriginal(modelOutput, sample, first ? sigma : sigmaInterpol);
            if (first) {
                NDArray derivative = sample.sub(predOriginal).div(sigma);
                prev = s.result(sample.add(derivative.mul(sigmaInterpol - sigma)));
                firstSample = keep(sample);
                return prev;
            }
            NDArray derivative = sample.sub(predOriginal).div(sigmaInterpol);
            prev = s.result(firstSample.add(derivative.mul(sigmaNext - sigma)));
        }
        onSetTimesteps(); // back to first order, after the scope hands the kept sample back
        return prev;
    }

    @Override
    public void close() {
        firstSample = null;
        super.close();
    }
}
