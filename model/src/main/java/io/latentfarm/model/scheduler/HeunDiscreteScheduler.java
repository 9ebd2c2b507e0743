package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.random.TorchGenerator;

import java.util.Map;

/**
 * diffusers' HeunDiscreteScheduler (Karras et al. Algorithm 2, no churn): an Euler step, then a
 * correction that averages the derivatives at both ends. Every timestep after the first appears
 * twice, so n steps take 2n - 1 model calls; {@code order} is 2.
 */
public final class HeunDiscreteScheduler extends SigmaScheduler {
    public static final String CLASS_NAME = "HeunDiscreteScheduler";

    static ObjectNode defaults() {
        return SchedulerConfig.defaults(SchedulerConfig.betaDefaults(),
                "beta_start", 0.00085, "beta_end", 0.012, "prediction_type", "epsilon", "use_karras_sigmas", false,
                "use_exponential_sigmas", false, "use_beta_sigmas", false, "clip_sample", false,
                "clip_sample_range", 1.0, "timestep_spacing", "linspace", "steps_offset", 0);
    }

    public static HeunDiscreteScheduler fromConfig(JsonNode config, Map<String, ?> overrides) {
        return new HeunDiscreteScheduler(SchedulerConfig.resolve(CLASS_NAME, defaults(), config, overrides));
    }

    private NDArray prevDerivative;
    private NDArray firstSample;
    private float dt = Float.NaN;

    public HeunDiscreteScheduler(SchedulerConfig config) {
        super(config, false);
    }

    @Override
    public int order() {
        return 2;
    }

    /** sigmas [s0, s1, s1, ..., s(n-1), s(n-1), 0]; timesteps [t0, t1, t1, ..., t(n-1), t(n-1)]. */
    @Override
    protected void setSchedule(double[] ts, float[] sig) {
        super.setSchedule(Interleaved.repeatTail(ts), Interleaved.repeatMiddle(sig));
    }

    @Override
    protected void onSetTimesteps() {
        clear();
    }

    private void clear() {
        release(prevDerivative);
        release(firstSample);
        prevDerivative = null;
        firstSample = null;
        dt = Float.NaN;
    }

    private boolean firstOrder() {
        return Float.isNaN(dt);
    }

    @Override
    public NDArray step(NDArray modelOutput, int stepIndex, NDArray sample, TorchGenerator generator) {
        checkIndex(stepIndex, timesteps.length);
        boolean first = firstOrder();
        float sigma = first ? sigmas[stepIndex] : sigmas[stepIndex - 1];
        float sigmaNext = first ? sigmas[stepIndex + 1] : sigmas[stepIndex];
        NDArray prev;
        try (StepScope s = new StepScope(sample, modelOutput, prevDerivative, firstSample)) {
            NDArray predOriginal = predictOriginal(modelOutput, sample, first ? sigma : sigmaNext);
            if (config.getBool("clip_sample")) {
                float range = (float) config.getDouble("clip_sample_range");
                predOriginal = predOriginal.clip(-range, range);
            }
            if (first) {
                NDArray derivative = sample.sub(predOriginal).div(sigma);
                dt = sigmaNext - sigma;
                prev = s.result(sample.add(derivative.mul(dt)));
                prevDerivative = keep(derivative);
                firstSample = keep(sample);
                return prev;
            }
            NDArray derivative = sample.sub(predOriginal).div(sigmaNext);
            derivative = prevDerivative.add(derivative).div(2f);
            prev = s.result(firstSample.add(derivative.mul(dt)));
        }
        clear(); // after the scope hands the kept state back
        return prev;
    }

    @Override
    public void close() {
        prevDerivative = null;
        firstSample = null;
        super.close();
    }
}
