package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.random.TorchGenerator;

import java.util.Map;

/**
 * diffusers' EulerDiscreteScheduler (s_churn = 0). Like diffusers, each step draws a noise tensor
 * from the generator even though it goes unused without churn, so the generator's state follows
 * diffusers' exactly.
 */
public final class EulerDiscreteScheduler extends SigmaScheduler {
    public static final String CLASS_NAME = "EulerDiscreteScheduler";

    static ObjectNode defaults() {
        return SchedulerConfig.defaults(SchedulerConfig.betaDefaults(),
                "prediction_type", "epsilon", "interpolation_type", "linear", "use_karras_sigmas", false,
                "use_exponential_sigmas", false, "use_beta_sigmas", false, "sigma_min", null, "sigma_max", null,
                "timestep_spacing", "linspace", "timestep_type", "discrete", "steps_offset", 0,
                "rescale_betas_zero_snr", false, "final_sigmas_type", "zero");
    }

    public static EulerDiscreteScheduler fromConfig(JsonNode config, Map<String, ?> overrides) {
        return new EulerDiscreteScheduler(SchedulerConfig.resolve(CLASS_NAME, defaults(), config, overrides));
    }

    public EulerDiscreteScheduler(SchedulerConfig config) {
        super(config, config.getBool("rescale_betas_zero_snr"));
        config.require(config.getString("interpolation_type").equals("linear"),
                "interpolation_type '" + config.getString("interpolation_type") + "'");
        config.require(!(config.getString("timestep_type").equals("continuous")
                && predictionType().equals("v_prediction")), "timestep_type 'continuous'");
        String fst = config.getString("final_sigmas_type");
        config.require(fst.equals("zero") || fst.equals("sigma_min"), "final_sigmas_type '" + fst + "'");
    }

    @Override
    protected float finalSigma() {
        if (config.getString("final_sigmas_type").equals("sigma_min")) {
            return NoiseSchedule.sigmaMin(alphasCumprod);
        }
        return 0f;
    }

    /** diffusers casts Euler's timesteps to float32. */
    @Override
    protected double karrasTimestep(double t) {
        return (float) t;
    }

    @Override
    public NDArray step(NDArray modelOutput, int stepIndex, NDArray sample, TorchGenerator generator) {
        checkIndex(stepIndex, timesteps.length);
        float sigma = sigmas[stepIndex];
        float sigmaHat = sigma; // sigma * (gamma + 1) with gamma = 0 (no churn)
        try (StepScope s = new StepScope(sample, modelOutput)) {
            if (generator != null) generator.randn(modelOutput.getShape().getShape()); // drawn, unused (gamma = 0)
            NDArray predOriginal = predictOriginal(modelOutput, sample, sigmaHat);
            NDArray derivative = sample.sub(predOriginal).div(sigmaHat);
            float dt = sigmas[stepIndex + 1] - sigmaHat;
            return s.result(sample.add(derivative.mul(dt)));
        }
    }
}
