package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.random.TorchGenerator;

import java.util.Map;

/**
 * diffusers' KDPM2AncestralDiscreteScheduler ("DPM2 a"): DPM2's midpoint step down to sigma_down,
 * then fresh noise of size sigma_up from the job's generator after each second evaluation.
 */
public final class KDpm2AncestralDiscreteScheduler extends SigmaScheduler {
    public static final String CLASS_NAME = "KDPM2AncestralDiscreteScheduler";

    static ObjectNode defaults() {
        return KDpm2DiscreteScheduler.defaults();
    }

    public static KDpm2AncestralDiscreteScheduler fromConfig(JsonNode config, Map<String, ?> overrides) {
        return new KDpm2AncestralDiscreteScheduler(SchedulerConfig.resolve(CLASS_NAME, defaults(), config, overrides));
    }

    private float[] sigmasInterpol = new float[0];
    private float[] sigmasUp = new float[0];
    private float[] sigmasDown = new float[0];
    private NDArray firstSample;

    public KDpm2AncestralDiscreteScheduler(SchedulerConfig config) {
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
        float[] up = new float[n];
        float[] down = new float[n];
        float[] interpol = new float[n];
        for (int k = 0; k < n; k++) {
            float next = k + 1 < n ? sig[k + 1] : 0f;
            float s2 = sig[k] * sig[k];
            up[k] = sqrt(next * next * (s2 - next * next) / s2);
            down[k] = k + 1 < n ? sqrt(next * next - up[k] * up[k]) : 0f;
            interpol[k] = k >= n - 2 ? 0f : Interleaved.geometricMean(sig[k], down[k]);
        }
        sigmasInterpol = Interleaved.repeatTailAndLast(interpol);
        sigmasUp = Interleaved.repeatTailAndLast(up);
        sigmasDown = Interleaved.repeatTailAndLast(down);
        super.setSchedule(Interleaved.withMidpoints(ts, interpol, logSigmas, 0),
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
        return scaleBySigma(sample, firstSample == null ? sigmas[stepIndex] : sigmasInterpol[stepIndex - 1]);
    }

    @Override
    public NDArray step(NDArray modelOutput, int stepIndex, NDArray sample, TorchGenerator generator) {
        checkIndex(stepIndex, timesteps.length);
        boolean first = firstSample == null;
        int at = first ? stepIndex : stepIndex - 1;
        float sigma = sigmas[at];
        float sigmaInterpol = sigmasInterpol[at];
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
            NDArray x = firstSample.add(derivative.mul(sigmasDown[stepIndex - 1] - sigma));
            NDArray noise = NoiseSchedule.noise(s, generator, modelOutput, CLASS_NAME);
            prev = s.result(x.add(noise.mul(sigmasUp[at])));
        }
        onSetTimesteps();
        return prev;
    }

    @Override
    public void close() {
        firstSample = null;
        super.close();
    }
}
