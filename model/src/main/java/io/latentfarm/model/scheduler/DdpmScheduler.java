package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.random.TorchGenerator;

import java.util.Map;

/**
 * diffusers' DDPMScheduler (ancestral sampling of Ho et al.): the posterior mean from the predicted
 * x0, plus noise from the job's generator scaled by the fixed_small (or fixed_large) variance.
 */
public final class DdpmScheduler extends BaseScheduler {
    public static final String CLASS_NAME = "DDPMScheduler";

    static ObjectNode defaults() {
        return SchedulerConfig.defaults(SchedulerConfig.betaDefaults(),
                "variance_type", "fixed_small", "clip_sample", true, "prediction_type", "epsilon",
                "thresholding", false, "dynamic_thresholding_ratio", 0.995, "clip_sample_range", 1.0,
                "sample_max_value", 1.0, "timestep_spacing", "leading", "steps_offset", 0,
                "rescale_betas_zero_snr", false);
    }

    public static DdpmScheduler fromConfig(JsonNode config, Map<String, ?> overrides) {
        return new DdpmScheduler(SchedulerConfig.resolve(CLASS_NAME, defaults(), config, overrides));
    }

    private final String varianceType;
    private int numInferenceSteps;
    private long[] timesteps = new long[0];

    public DdpmScheduler(SchedulerConfig config) {
        super(config, config.getBool("rescale_betas_zero_snr"));
        config.require(!config.getBool("thresholding"), "thresholding");
        this.varianceType = config.getString("variance_type");
        config.require(varianceType.equals("fixed_small") || varianceType.equals("fixed_small_log")
                || varianceType.equals("fixed_large"), "variance_type '" + varianceType + "'");
    }

    @Override
    public void setTimesteps(int n) {
        if (n < 1 || n > numTrainTimesteps) {
            throw new IllegalArgumentException(CLASS_NAME + ": num_inference_steps " + n + " must be in 1.."
                    + numTrainTimesteps);
        }
        numInferenceSteps = n;
        timesteps = NoiseSchedule.discreteTimesteps(config, n);
    }

    @Override
    public double[] timesteps() {
        return asDoubles(timesteps);
    }

    @Override
    public NDArray step(NDArray modelOutput, int stepIndex, NDArray sample, TorchGenerator generator) {
        checkIndex(stepIndex, timesteps.length);
        long t = timesteps[stepIndex];
        long prevT = t - numTrainTimesteps / numInferenceSteps;
        float alphaProdT = alphasCumprod[(int) t];
        float alphaProdTPrev = prevT >= 0 ? alphasCumprod[(int) prevT] : 1f;
        float betaProdT = 1f - alphaProdT;
        float betaProdTPrev = 1f - alphaProdTPrev;
        float currentAlphaT = alphaProdT / alphaProdTPrev;
        float currentBetaT = 1f - currentAlphaT;
        try (StepScope s = new StepScope(sample, modelOutput)) {
            NDArray predOriginal;
            switch (predictionType()) {
                case "epsilon":
                    predOriginal = sample.sub(modelOutput.mul(sqrt(betaProdT))).div(sqrt(alphaProdT));
                    break;
                case "sample":
                    predOriginal = modelOutput;
                    break;
                default: // v_prediction
                    predOriginal = sample.mul(sqrt(alphaProdT)).sub(modelOutput.mul(sqrt(betaProdT)));
                    break;
            }
            if (config.getBool("clip_sample")) {
                float range = (float) config.getDouble("clip_sample_range");
                predOriginal = predOriginal.clip(-range, range);
            }
            float predOriginalCoeff = sqrt(alphaProdTPrev) * currentBetaT / betaProdT;
            float currentSampleCoeff = sqrt(currentAlphaT) * betaProdTPrev / betaProdT;
            NDArray prev = predOriginal.mul(predOriginalCoeff).add(sample.mul(currentSampleCoeff));
            if (t > 0) {
                NDArray noise = NoiseSchedule.noise(s, generator, modelOutput, CLASS_NAME);
                prev = prev.add(noise.mul(standardDeviation(alphaProdTPrev, alphaProdT, currentBetaT)));
            }
            return s.result(prev);
        }
    }

    /** The noise scale of {@code _get_variance} for the configured variance_type (float32). */
    private float standardDeviation(float alphaProdTPrev, float alphaProdT, float currentBetaT) {
        float variance = Math.max((1f - alphaProdTPrev) / (1f - alphaProdT) * currentBetaT, 1e-20f);
        switch (varianceType) {
            case "fixed_small_log":
                return (float) Math.exp(0.5f * (float) Math.log(variance));
            case "fixed_large":
                return sqrt(currentBetaT);
            default: // fixed_small
                return sqrt(variance);
        }
    }
}
