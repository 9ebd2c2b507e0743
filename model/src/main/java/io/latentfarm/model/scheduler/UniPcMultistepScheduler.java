package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.random.TorchGenerator;

import java.util.Map;

/**
 * diffusers' UniPCMultistepScheduler (UniPC, bh1/bh2, predicting x0 or noise): each step first
 * corrects the current sample with the new model output (UniC), then predicts the next one (UniP).
 * Orders 1 and 2; the 2x2 system of the order-2 corrector is solved in float32 like torch's solve.
 */
public final class UniPcMultistepScheduler extends BaseScheduler {
    public static final String CLASS_NAME = "UniPCMultistepScheduler";

    static ObjectNode defaults() {
        return SchedulerConfig.defaults(SchedulerConfig.betaDefaults(),
                "solver_order", 2, "prediction_type", "epsilon", "thresholding", false,
                "dynamic_thresholding_ratio", 0.995, "sample_max_value", 1.0, "predict_x0", true,
                "solver_type", "bh2", "lower_order_final", true, "disable_corrector", java.util.List.of(),
                "solver_p", null, "use_karras_sigmas", false, "use_exponential_sigmas", false,
                "use_beta_sigmas", false, "timestep_spacing", "linspace", "steps_offset", 0,
                "final_sigmas_type", "zero", "rescale_betas_zero_snr", false);
    }

    public static UniPcMultistepScheduler fromConfig(JsonNode config, Map<String, ?> overrides) {
        return new UniPcMultistepScheduler(SchedulerConfig.resolve(CLASS_NAME, defaults(), config, overrides));
    }

    private final int solverOrder;
    private final boolean predictX0;
    private final boolean bh2;
    private final boolean karras;
    private final java.util.Set<Integer> disableCorrector = new java.util.HashSet<>();
    private final float[] trainSigmas;
    private final float[] logSigmas;
    private long[] timesteps = new long[0];
    private float[] sigmas = new float[0];
    /** Converted model outputs of the last {@code solverOrder} steps, oldest first. */
    private final NDArray[] modelOutputs;
    private NDArray lastSample;
    private int lowerOrderNums;
    private int thisOrder;
    private int nextStep;

    public UniPcMultistepScheduler(SchedulerConfig config) {
        super(config, config.getBool("rescale_betas_zero_snr"));
        if (config.getBool("rescale_betas_zero_snr")) alphasCumprod[alphasCumprod.length - 1] = 0x1.0p-24f;
        String solverType = config.getString("solver_type");
        if (solverType.equals("midpoint") || solverType.equals("heun") || solverType.equals("logrho")) solverType = "bh2";
        config.require(solverType.equals("bh1") || solverType.equals("bh2"), "solver_type '" + solverType + "'");
        this.bh2 = solverType.equals("bh2");
        this.solverOrder = config.getInt("solver_order");
        config.require(solverOrder == 1 || solverOrder == 2, "solver_order " + solverOrder + " (1 or 2)");
        config.require(!config.getBool("thresholding"), "thresholding");
        config.require(config.isNull("solver_p"), "solver_p");
        for (String key : new String[] {"use_exponential_sigmas", "use_beta_sigmas"}) config.require(!config.getBool(key), key);
        String fst = config.getString("final_sigmas_type");
        config.require(fst.equals("zero") || fst.equals("sigma_min"), "final_sigmas_type '" + fst + "'");
        this.predictX0 = config.getBool("predict_x0");
        this.karras = config.getBool("use_karras_sigmas");
        JsonNode disabled = config.values().get("disable_corrector");
        if (disabled != null && disabled.isArray()) disabled.forEach(v -> disableCorrector.add(v.asInt()));
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
        boolean sigmaMin = config.getString("final_sigmas_type").equals("sigma_min");
        sigmas[timesteps.length] = !sigmaMin ? 0f : karras ? sigmas[timesteps.length - 1] : NoiseSchedule.sigmaMin(alphasCumprod);
        for (int i = 0; i < modelOutputs.length; i++) {
            release(modelOutputs[i]);
            modelOutputs[i] = null;
        }
        release(lastSample);
        lastSample = null;
        lowerOrderNums = 0;
        thisOrder = 0;
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
        boolean useCorrector = stepIndex > 0 && !disableCorrector.contains(stepIndex - 1) && lastSample != null;
        NDArray evicted = modelOutputs[0];
        NDArray oldLast = lastSample;
        NDArray prev;
        try (StepScope s = new StepScope(sample, modelOutput, lastSample)) {
            for (NDArray m : modelOutputs) s.use(m);
            NDArray converted = convertModelOutput(modelOutput, stepIndex, sample);
            NDArray x = useCorrector ? correct(converted, stepIndex, lastSample, sample, thisOrder) : sample;
            System.arraycopy(modelOutputs, 1, modelOutputs, 0, solverOrder - 1);
            modelOutputs[solverOrder - 1] = s.use(keep(converted));
            int order = config.getBool("lower_order_final")
                    ? Math.min(solverOrder, timesteps.length - stepIndex) : solverOrder;
            thisOrder = Math.min(order, lowerOrderNums + 1);
            lastSample = s.use(keep(x));
            prev = s.result(predict(stepIndex, x, thisOrder));
        }
        release(evicted); // the oldest output, shifted out
        release(oldLast);
        if (lowerOrderNums < solverOrder) lowerOrderNums++;
        nextStep++;
        return prev;
    }

    private NDArray convertModelOutput(NDArray modelOutput, int stepIndex, NDArray sample) {
        return NoiseSchedule.convertModelOutput(modelOutput, sample, sigmas[stepIndex], predictionType(), predictX0);
    }

    /** The scalars both updates share: h_phi_1, B_h and the b vector for {@code order}. */
    private record Coefficients(float hPhi1, float bH, float[] b) {
    }

    private Coefficients coefficients(float h, int order) {
        float hh = predictX0 ? -h : h;
        float hPhi1 = (float) Math.expm1(hh);
        float hPhiK = hPhi1 / hh - 1f;
        float bH = bh2 ? (float) Math.expm1(hh) : hh;
        float[] b = new float[order];
        int factorial = 1;
        for (int i = 1; i <= order; i++) {
            b[i - 1] = hPhiK * factorial / bH;
            factorial *= i + 1;
            hPhiK = hPhiK / hh - 1f / factorial;
        }
        return new Coefficients(hPhi1, bH, b);
    }

    /** UniP: the predictor from step {@code i} to {@code i + 1}. */
    private NDArray predict(int i, NDArray x, int order) {
        NDArray m0 = modelOutputs[solverOrder - 1];
        float[] t = NoiseSchedule.alphaSigma(sigmas[i + 1]);
        float[] s0 = NoiseSchedule.alphaSigma(sigmas[i]);
        float h = NoiseSchedule.lambda(t) - NoiseSchedule.lambda(s0);
        Coefficients c = coefficients(h, order);
        NDArray predRes = null;
        if (order >= 2) {
            float rk = (NoiseSchedule.lambda(NoiseSchedule.alphaSigma(sigmas[i - 1])) - NoiseSchedule.lambda(s0)) / h;
            NDArray d1 = modelOutputs[solverOrder - 2].sub(m0).div(rk);
            predRes = d1.mul(0.5f); // rhos_p = [0.5] for order 2
        }
        return update(x, m0, t, s0, c, predRes);
    }

    /** UniC: corrects the sample of step {@code i} (reached from {@code last}) with its model output. */
    private NDArray correct(NDArray modelT, int i, NDArray last, NDArray thisSample, int order) {
        NDArray m0 = modelOutputs[solverOrder - 1];
        float[] t = NoiseSchedule.alphaSigma(sigmas[i]);
        float[] s0 = NoiseSchedule.alphaSigma(sigmas[i - 1]);
        float h = NoiseSchedule.lambda(t) - NoiseSchedule.lambda(s0);
        Coefficients c = coefficients(h, order);
        NDArray d1t = modelT.sub(m0);
        NDArray res;
        if (order == 1) {
            res = d1t.mul(0.5f);
        } else {
            float rk = (NoiseSchedule.lambda(NoiseSchedule.alphaSigma(sigmas[i - 2])) - NoiseSchedule.lambda(s0)) / h;
            float[] rhos = solve2(rk, c.b());
            NDArray d1 = modelOutputs[solverOrder - 2].sub(m0).div(rk);
            res = d1.mul(rhos[0]).add(d1t.mul(rhos[1]));
        }
        return update(last, m0, t, s0, c, res);
    }

    /** {@code x_t_ - alpha_t * B_h * res} (sigma_t for noise prediction), x_t_ the first-order step. */
    private NDArray update(NDArray x, NDArray m0, float[] t, float[] s0, Coefficients c, NDArray res) {
        NDArray base;
        float scale;
        if (predictX0) {
            base = x.mul(t[1] / s0[1]).sub(m0.mul(t[0] * c.hPhi1()));
            scale = t[0] * c.bH();
        } else {
            base = x.mul(t[0] / s0[0]).sub(m0.mul(t[1] * c.hPhi1()));
            scale = t[1] * c.bH();
        }
        return res == null ? base : base.sub(res.mul(scale));
    }

    /** {@code torch.linalg.solve([[1, 1], [rk, 1]], b)} with partial pivoting, float32. */
    static float[] solve2(float rk, float[] b) {
        float a00 = 1f;
        float a01 = 1f;
        float a10 = rk;
        float a11 = 1f;
        float b0 = b[0];
        float b1 = b[1];
        if (Math.abs(a10) > Math.abs(a00)) {
            float t;
            t = a00; a00 = a10; a10 = t;
            t = a01; a01 = a11; a11 = t;
            t = b0; b0 = b1; b1 = t;
        }
        float l = a10 * (1f / a00); // LAPACK scales the column by the pivot's reciprocal
        float u11 = a11 - l * a01;
        float y1 = b1 - l * b0;
        float x1 = y1 / u11;
        float x0 = (b0 - a01 * x1) / a00;
        return new float[] {x0, x1};
    }

    @Override
    public void close() {
        java.util.Arrays.fill(modelOutputs, null);
        lastSample = null;
        super.close();
    }
}
