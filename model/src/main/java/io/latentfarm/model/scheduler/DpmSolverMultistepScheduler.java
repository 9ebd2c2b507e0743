package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.random.TorchGenerator;

import java.util.Map;

/**
 * diffusers' DPMSolverMultistepScheduler: {@code dpmsolver++} (the "DPM++ 2M" sampler with
 * solver_order 2), {@code dpmsolver}, and their SDE variants ({@code sde-dpmsolver++}: "DPM++ 2M
 * SDE", noise drawn from the job's generator at every step); orders 1 and 2, midpoint or heun
 * second-order updates, lower-order final steps, Karras sigmas. Scalars follow diffusers' float32
 * tensor math.
 */
public final class DpmSolverMultistepScheduler extends BaseScheduler {
    public static final String CLASS_NAME = "DPMSolverMultistepScheduler";

    static ObjectNode defaults() {
        return SchedulerConfig.defaults(SchedulerConfig.betaDefaults(),
                "solver_order", 2, "prediction_type", "epsilon", "thresholding", false,
                "dynamic_thresholding_ratio", 0.995, "sample_max_value", 1.0, "algorithm_type", "dpmsolver++",
                "solver_type", "midpoint", "lower_order_final", true, "euler_at_final", false,
                "use_karras_sigmas", false, "use_exponential_sigmas", false, "use_beta_sigmas", false,
                "use_lu_lambdas", false, "final_sigmas_type", "zero", "lambda_min_clipped", Double.NEGATIVE_INFINITY,
                "variance_type", null, "timestep_spacing", "linspace", "steps_offset", 0,
                "rescale_betas_zero_snr", false);
    }

    public static DpmSolverMultistepScheduler fromConfig(JsonNode config, Map<String, ?> overrides) {
        return new DpmSolverMultistepScheduler(SchedulerConfig.resolve(CLASS_NAME, defaults(), config, overrides));
    }

    private final int solverOrder;
    private final boolean plusPlus;
    private final boolean sde;
    private final boolean karras;
    private final boolean heun;
    private final float[] trainSigmas;
    private final float[] logSigmas;
    private final float[] lambdaT;
    private long[] timesteps = new long[0];
    private float[] sigmas;
    /** The converted model outputs of the last {@code solverOrder} steps, oldest first. */
    private NDArray[] modelOutputs;
    private int lowerOrderNums;
    private int nextStep;

    public DpmSolverMultistepScheduler(SchedulerConfig config) {
        super(config, config.getBool("rescale_betas_zero_snr"));
        if (config.getBool("rescale_betas_zero_snr")) alphasCumprod[alphasCumprod.length - 1] = 0x1.0p-24f;
        String algorithm = config.getString("algorithm_type");
        if (algorithm.equals("deis")) algorithm = "dpmsolver++"; // diffusers maps it so
        config.require(algorithm.equals("dpmsolver++") || algorithm.equals("dpmsolver")
                        || algorithm.equals("sde-dpmsolver++") || algorithm.equals("sde-dpmsolver"),
                "algorithm_type '" + algorithm + "' (dpmsolver++, dpmsolver, sde-dpmsolver++, sde-dpmsolver)");
        String solverType = config.getString("solver_type");
        if (solverType.equals("logrho") || solverType.equals("bh1") || solverType.equals("bh2")) solverType = "midpoint";
        config.require(solverType.equals("midpoint") || solverType.equals("heun"), "solver_type '" + solverType + "'");
        this.solverOrder = config.getInt("solver_order");
        config.require(solverOrder == 1 || solverOrder == 2, "solver_order " + solverOrder + " (1 or 2)");
        config.require(!config.getBool("thresholding"), "thresholding");
        for (String key : new String[] {"use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas"}) {
            config.require(!config.getBool(key), key);
        }
        config.require(config.isNull("variance_type"), "variance_type '" + config.getString("variance_type") + "'");
        String fst = config.getString("final_sigmas_type");
        config.require(fst.equals("zero") || fst.equals("sigma_min"), "final_sigmas_type '" + fst + "'");
        this.plusPlus = algorithm.endsWith("dpmsolver++");
        this.sde = algorithm.startsWith("sde-");
        this.karras = config.getBool("use_karras_sigmas");
        if (!plusPlus && fst.equals("zero")) {
            throw new IllegalArgumentException(CLASS_NAME + ": final_sigmas_type 'zero' is not supported for algorithm_type '"
                    + algorithm + "'; choose 'sigma_min'");
        }
        this.heun = solverType.equals("heun");
        this.trainSigmas = NoiseSchedule.trainSigmas(alphasCumprod);
        this.logSigmas = NoiseSchedule.logSigmas(trainSigmas);
        this.lambdaT = new float[alphasCumprod.length];
        for (int i = 0; i < lambdaT.length; i++) {
            lambdaT[i] = log(sqrt(alphasCumprod[i])) - log(sqrt(1f - alphasCumprod[i]));
        }
        this.sigmas = trainSigmas.clone();
        this.modelOutputs = new NDArray[solverOrder];
    }

    private static float log(float x) {
        return (float) Math.log(x);
    }

    private static float exp(float x) {
        return (float) Math.exp(x);
    }

    @Override
    public void setTimesteps(int n) {
        if (n < 1) throw new IllegalArgumentException("num_inference_steps must be >= 1, got " + n);
        // Clip the minimum of lambda(t) for numerical stability: searchsorted(flip(lambda_t), lambda_min_clipped)
        float clip = (float) config.getDouble("lambda_min_clipped");
        int clippedIdx = 0;
        for (int i = lambdaT.length - 1; i >= 0 && lambdaT[i] < clip; i--) clippedIdx++;
        int lastTimestep = numTrainTimesteps - clippedIdx;
        NoiseSchedule.Multistep m = NoiseSchedule.Multistep.of(config, n, lastTimestep, trainSigmas, logSigmas, karras);
        timesteps = m.timesteps();
        sigmas = m.sigmas();
        float last = config.getString("final_sigmas_type").equals("sigma_min") ? NoiseSchedule.sigmaMin(alphasCumprod) : 0f;
        sigmas[timesteps.length] = last;
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

    private static float[] alphaSigma(float sigma) {
        return NoiseSchedule.alphaSigma(sigma);
    }

    @Override
    public NDArray step(NDArray modelOutput, int stepIndex, NDArray sample, TorchGenerator generator) {
        checkIndex(stepIndex, timesteps.length);
        if (stepIndex != nextStep) {
            throw new IllegalStateException(CLASS_NAME + ": steps must be taken in order; expected step " + nextStep
                    + ", got " + stepIndex);
        }
        int steps = timesteps.length;
        boolean lowerOrderFinal = stepIndex == steps - 1 && (config.getBool("euler_at_final")
                || (config.getBool("lower_order_final") && steps < 15)
                || config.getString("final_sigmas_type").equals("zero"));
        // (diffusers' lower_order_second only changes third-order solvers, which this port does not implement)
        NDArray evicted = modelOutputs[0];
        NDArray prev;
        try (StepScope s = new StepScope(sample, modelOutput)) {
            for (NDArray m : modelOutputs) s.use(m);
            NDArray converted = s.use(keep(convertModelOutput(modelOutput, stepIndex, sample)));
            System.arraycopy(modelOutputs, 1, modelOutputs, 0, solverOrder - 1);
            modelOutputs[solverOrder - 1] = converted;
            NDArray noise = sde ? NoiseSchedule.noise(s, generator, modelOutput, CLASS_NAME) : null;
            if (solverOrder == 1 || lowerOrderNums < 1 || lowerOrderFinal) {
                prev = firstOrderUpdate(converted, stepIndex, sample, noise);
            } else {
                prev = secondOrderUpdate(stepIndex, sample, noise);
            }
            prev = s.result(prev);
        }
        release(evicted); // the oldest output, shifted out
        if (lowerOrderNums < solverOrder) lowerOrderNums++;
        nextStep++;
        return prev;
    }

    /** The solver's working quantity: x0 (dpmsolver++) or epsilon (dpmsolver). */
    private NDArray convertModelOutput(NDArray modelOutput, int stepIndex, NDArray sample) {
        return NoiseSchedule.convertModelOutput(modelOutput, sample, sigmas[stepIndex], predictionType(), plusPlus);
    }

    private NDArray firstOrderUpdate(NDArray m0, int i, NDArray sample, NDArray noise) {
        float[] t = alphaSigma(sigmas[i + 1]);
        float[] s0 = alphaSigma(sigmas[i]);
        float lambdaT = log(t[0]) - log(t[1]);
        float lambdaS = log(s0[0]) - log(s0[1]);
        float h = lambdaT - lambdaS;
        if (sde && plusPlus) {
            return sample.mul(t[1] / s0[1] * exp(-h)).add(m0.mul(t[0] * (1f - exp(-2f * h))))
                    .add(noise.mul(t[1] * sqrt(1f - exp(-2f * h))));
        }
        if (sde) {
            return sample.mul(t[0] / s0[0]).sub(m0.mul(2f * (t[1] * (exp(h) - 1f))))
                    .add(noise.mul(t[1] * sqrt(exp(2f * h) - 1f)));
        }
        if (plusPlus) {
            return sample.mul(t[1] / s0[1]).sub(m0.mul(t[0] * (exp(-h) - 1f)));
        }
        return sample.mul(t[0] / s0[0]).sub(m0.mul(t[1] * (exp(h) - 1f)));
    }

    private NDArray secondOrderUpdate(int i, NDArray sample, NDArray noise) {
        float[] t = alphaSigma(sigmas[i + 1]);
        float[] s0 = alphaSigma(sigmas[i]);
        float[] s1 = alphaSigma(sigmas[i - 1]);
        float lambdaT = log(t[0]) - log(t[1]);
        float lambdaS0 = log(s0[0]) - log(s0[1]);
        float lambdaS1 = log(s1[0]) - log(s1[1]);
        NDArray m0 = modelOutputs[solverOrder - 1];
        NDArray m1 = modelOutputs[solverOrder - 2];
        float h = lambdaT - lambdaS0;
        float h0 = lambdaS0 - lambdaS1;
        float r0 = h0 / h;
        NDArray d0 = m0;
        NDArray d1 = m0.sub(m1).mul(1f / r0);
        if (sde && plusPlus) {
            float c = t[0] * (1f - exp(-2f * h));
            NDArray x = sample.mul(t[1] / s0[1] * exp(-h)).add(d0.mul(c));
            x = heun ? x.add(d1.mul(t[0] * ((1f - exp(-2f * h)) / (-2f * h) + 1f))) : x.add(d1.mul(0.5f * c));
            return x.add(noise.mul(t[1] * sqrt(1f - exp(-2f * h))));
        }
        if (sde) {
            float c = t[1] * (exp(h) - 1f);
            NDArray x = sample.mul(t[0] / s0[0]).sub(d0.mul(2f * c));
            x = heun ? x.sub(d1.mul(2f * (t[1] * ((exp(h) - 1f) / h - 1f)))) : x.sub(d1.mul(c));
            return x.add(noise.mul(t[1] * sqrt(exp(2f * h) - 1f)));
        }
        if (plusPlus) {
            float c = t[0] * (exp(-h) - 1f);
            NDArray x = sample.mul(t[1] / s0[1]).sub(d0.mul(c));
            if (heun) return x.add(d1.mul(t[0] * ((exp(-h) - 1f) / h + 1f)));
            return x.sub(d1.mul(0.5f * c));
        }
        float c = t[1] * (exp(h) - 1f);
        NDArray x = sample.mul(t[0] / s0[0]).sub(d0.mul(c));
        if (heun) return x.sub(d1.mul(t[1] * ((exp(h) - 1f) / h - 1f)));
        return x.sub(d1.mul(0.5f * c));
    }

    @Override
    public void close() {
        java.util.Arrays.fill(modelOutputs, null);
        super.close();
    }
}
