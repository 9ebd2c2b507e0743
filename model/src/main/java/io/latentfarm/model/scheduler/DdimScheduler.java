package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.random.TorchGenerator;

import java.util.Map;

/** diffusers' DDIMScheduler (deterministic for eta = 0; eta > 0 draws noise from the job's generator). */
public final class DdimScheduler extends BaseScheduler {
    public static final String CLASS_NAME = "DDIMScheduler";

    static ObjectNode defaults() {
        return SchedulerConfig.defaults(SchedulerConfig.betaDefaults(),
                "clip_sample", true, "set_alpha_to_one", true, "steps_offset", 0, "prediction_type", "epsilon",
                "thresholding", false, "dynamic_thresholding_ratio", 0.995, "clip_sample_range", 1.0,
                "sample_max_value", 1.0, "timestep_spacing", "leading", "rescale_betas_zero_snr", false);
    }

    public static DdimScheduler fromConfig(JsonNode config, Map<String, ?> overrides) {
        return new DdimScheduler(SchedulerConfig.resolve(CLASS_NAME, defaults(), config, overrides));
    }

    private final float finalAlphaCumprod;
    private int numInferenceSteps;
    private long[] timesteps = new long[0];
    private double eta;

    public DdimScheduler(SchedulerConfig config) {
        super(config, config.getBool("rescale_betas_zero_snr"));
        config.require(!config.getBool("thresholding"), "thresholding");
        this.finalAlphaCumprod = config.getBool("set_alpha_to_one") ? 1f : alphasCumprod[0];
    }

    @Override
    public void setEta(double eta) {
        this.eta = eta;
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
        float alphaProdTPrev = prevT >= 0 ? alphasCumprod[(int) prevT] : finalAlphaCumprod;
        float betaProdT = 1f - alphaProdT;
        try (StepScope s = new StepScope(sample, modelOutput)) {
            NDArray predOriginal;
            NDArray predEpsilon;
            switch (predictionType()) {
                case "epsilon":
                    predOriginal = sample.sub(modelOutput.mul(sqrt(betaProdT))).div(sqrt(alphaProdT));
                    predEpsilon = modelOutput;
                    break;
                case "sample":
                    predOriginal = modelOutput;
                    predEpsilon = sample.sub(predOriginal.mul(sqrt(alphaProdT))).div(sqrt(betaProdT));
                    break;
                default: // v_prediction
                    predOriginal = sample.mul(sqrt(alphaProdT)).sub(modelOutput.mul(sqrt(betaProdT)));
                    predEpsilon = modelOutput.mul(sqrt(alphaProdT)).add(sample.mul(sqrt(betaProdT)));
                    break;
            }
            if (config.getBool("clip_sample")) {
                float range = (float) config.getDouble("clip_sample_range");
                predOriginal = predOriginal.clip(-range, range);
            }
            float betaProdTPrev = 1f - alphaProdTPrev;
            float variance = (betaProdTPrev / betaProdT) * (1f - alphaProdT / alphaProdTPrev);
            float stdDevT = (float) eta * sqrt(variance);
            NDArray direction = predEpsilon.mul(sqrt(1f - alphaProdTPrev - stdDevT * stdDevT));
            NDArray prev = predOriginal.mul(sqrt(alphaProdTPrev)).add(direction);
            if (eta > 0) {
                if (generator == null) throw new IllegalArgumentException(CLASS_NAME + ": eta > 0 needs a generator");
                NDArray noise = generator.randn(s.manager(), modelOutput.getShape());
                prev = prev.add(noise.mul(stdDevT));
            }
            return s.result(prev);
        }
    }
}
