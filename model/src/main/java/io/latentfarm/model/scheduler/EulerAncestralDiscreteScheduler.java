package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.random.TorchGenerator;

import java.util.Map;

/** diffusers' EulerAncestralDiscreteScheduler: an Euler step to sigma_down plus fresh noise of size sigma_up. */
public final class EulerAncestralDiscreteScheduler extends SigmaScheduler {
    public static final String CLASS_NAME = "EulerAncestralDiscreteScheduler";

    static ObjectNode defaults() {
        return SchedulerConfig.defaults(SchedulerConfig.betaDefaults(),
                "prediction_type", "epsilon", "timestep_spacing", "linspace", "steps_offset", 0,
                "rescale_betas_zero_snr", false);
    }

    public static EulerAncestralDiscreteScheduler fromConfig(JsonNode config, Map<String, ?> overrides) {
        return new EulerAncestralDiscreteScheduler(SchedulerConfig.resolve(CLASS_NAME, defaults(), config, overrides));
    }

    public EulerAncestralDiscreteScheduler(SchedulerConfig config) {
        super(config, config.getBool("rescale_betas_zero_snr"));
        config.require(!predictionType().equals("sample"), "prediction_type 'sample'");
    }

    @Override
    public NDArray step(NDArray modelOutput, int stepIndex, NDArray sample, TorchGenerator generator) {
        if (generator == null) throw new IllegalArgumentException(CLASS_NAME + " draws noise: it needs the job's generator");
        return step(modelOutput, stepIndex, sample, shape -> generator.randn(shape));
    }

    /** A step with the noise supplied by {@code noise} (given the sample's shape), e.g. recorded noise. */
    public NDArray step(NDArray modelOutput, int stepIndex, NDArray sample, java.util.function.Function<long[], float[]> noise) {
        checkIndex(stepIndex, timesteps.length);
        float sigma = sigmas[stepIndex];
        float sigmaTo = sigmas[stepIndex + 1];
        float sigmaUp = sqrt(sigmaTo * sigmaTo * (sigma * sigma - sigmaTo * sigmaTo) / (sigma * sigma));
        float sigmaDown = sqrt(sigmaTo * sigmaTo - sigmaUp * sigmaUp);
        try (StepScope s = new StepScope(sample, modelOutput)) {
            NDArray predOriginal = predictOriginal(modelOutput, sample, sigma);
            NDArray derivative = sample.sub(predOriginal).div(sigma);
            float dt = sigmaDown - sigma;
            NDArray prev = sample.add(derivative.mul(dt));
            NDArray eps = s.manager().create(noise.apply(modelOutput.getShape().getShape()), modelOutput.getShape());
            return s.result(prev.add(eps.mul(sigmaUp)));
        }
    }
}
