package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;

/**
 * The numbers behind every scheduler (betas, alphas_cumprod, sigmas, timestep spacings), computed
 * along diffusers' own dtype path: torch float32 tensors for betas/alphas_cumprod (torch's CPU
 * linspace and double-accumulating cumprod reproduced), numpy float64 for timesteps and sigma
 * interpolation, cast to float32 where diffusers casts.
 */
final class NoiseSchedule {
    private NoiseSchedule() {
    }

    /** Betas as float32, from {@code trained_betas} or {@code beta_schedule}. */
    static float[] betas(SchedulerConfig c) {
        int n = c.getInt("num_train_timesteps");
        float[] trained = c.getFloats("trained_betas");
        if (trained != null) return trained;
        double start = c.getDouble("beta_start");
        double end = c.getDouble("beta_end");
        String schedule = c.getString("beta_schedule");
        switch (schedule) {
            case "linear":
                return torchLinspace(start, end, n);
            case "scaled_linear": {
                float[] b = torchLinspace(Math.sqrt(start), Math.sqrt(end), n);
                for (int i = 0; i < n; i++) b[i] = b[i] * b[i];
                return b;
            }
            case "squaredcos_cap_v2":
                return betasForAlphaBar(n, 0.999);
            default:
                throw new UnsupportedOperationException(c.className() + ": beta_schedule '" + schedule
                        + "' is not supported (linear, scaled_linear, squaredcos_cap_v2)");
        }
    }

    /**
     * {@code torch.linspace(start, end, steps, dtype=float32)} on CPU as torch's AVX2 kernel computes
     * it: step = (end - start) / (steps - 1) in float; values below the halfway point count up from
     * start, the others down from end; 8-lane vectors start at start + step * i and add k * step (GCC
     * fuses each product into its add), the tail is scalar.
     */
    static float[] torchLinspace(double startD, double endD, int steps) {
        float start = (float) startD;
        float end = (float) endD;
        float[] out = new float[steps];
        if (steps == 0) return out;
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (float) (steps - 1);
        int halfway = steps / 2;
        final int lanes = 8;
        int i = 0;
        for (; i + 2 * lanes <= steps; i += lanes) {
            float base = i < halfway ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
            out[i] = base;
            for (int k = 1; k < lanes; k++) out[i + k] = Math.fma((float) k, step, base);
        }
        for (; i < steps; i++) {
            out[i] = i < halfway ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
        }
        return out;
    }

    /** diffusers' betas_for_alpha_bar (cosine), float64 then float32. */
    static float[] betasForAlphaBar(int n, double maxBeta) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n;
            double t2 = (double) (i + 1) / n;
            out[i] = (float) Math.min(1 - alphaBar(t2) / alphaBar(t1), maxBeta);
        }
        return out;
    }

    private static double alphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /** diffusers' rescale_zero_terminal_snr (float32). */
    static float[] rescaleZeroTerminalSnr(float[] betas) {
        float[] cum = cumprod(alphas(betas));
        int n = cum.length;
        float[] sqrt = new float[n];
        for (int i = 0; i < n; i++) sqrt[i] = (float) Math.sqrt(cum[i]);
        float first = sqrt[0];
        float last = sqrt[n - 1];
        float scale = first / (first - last);
        float[] bar = new float[n];
        for (int i = 0; i < n; i++) {
            float s = (sqrt[i] - last) * scale;
            bar[i] = s * s;
        }
        float[] out = new float[n];
        out[0] = 1f - bar[0];
        for (int i = 1; i < n; i++) out[i] = 1f - bar[i] / bar[i - 1];
        return out;
    }

    static float[] alphas(float[] betas) {
        float[] a = new float[betas.length];
        for (int i = 0; i < a.length; i++) a[i] = 1f - betas[i];
        return a;
    }

    /** torch.cumprod of a float32 CPU tensor: the running product is a double, each value stored as float. */
    static float[] cumprod(float[] x) {
        float[] out = new float[x.length];
        double acc = 1;
        for (int i = 0; i < x.length; i++) {
            acc *= x[i];
            out[i] = (float) acc;
        }
        return out;
    }

    /** {@code ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5} in float32, by training timestep. */
    static float[] trainSigmas(float[] alphasCumprod) {
        float[] s = new float[alphasCumprod.length];
        for (int i = 0; i < s.length; i++) s[i] = (float) Math.sqrt((1f - alphasCumprod[i]) / alphasCumprod[i]);
        return s;
    }

    /** {@code np.linspace(start, stop, num)} (float64, endpoint included). */
    static double[] npLinspace(double start, double stop, int num) {
        double[] y = new double[num];
        if (num == 1) {
            y[0] = start;
            return y;
        }
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++) y[i] = i * step + start;
        y[num - 1] = stop;
        return y;
    }

    /** {@code np.arange(start, stop, step)} for float64 arguments (numpy fills start + i * delta, delta = (start + step) - start). */
    static double[] npArange(double start, double stop, double step) {
        int len = (int) Math.max(0, Math.ceil((stop - start) / step));
        double[] y = new double[len];
        double delta = (start + step) - start;
        for (int i = 0; i < len; i++) y[i] = i == 1 ? start + step : start + i * delta;
        return y;
    }

    /** {@code np.interp(x, np.arange(len(fp)), fp)} in float64. */
    static double interp(double x, float[] fp) {
        int last = fp.length - 1;
        if (Double.isNaN(x)) return Double.NaN;
        if (x <= 0) return fp[0];
        if (x >= last) return fp[last];
        int j = (int) Math.floor(x);
        if (j == x) return fp[j];
        double slope = ((double) fp[j + 1] - fp[j]) / 1.0;
        return slope * (x - j) + fp[j];
    }

    /**
     * Float timesteps of the sigma schedulers (LMS, Euler, Euler ancestral), descending, float32 as
     * diffusers makes them for each {@code timestep_spacing}.
     */
    static float[] sigmaTimesteps(SchedulerConfig c, int n) {
        int train = c.getInt("num_train_timesteps");
        String spacing = c.getString("timestep_spacing");
        float[] t = new float[n];
        switch (spacing) {
            case "linspace": {
                double[] l = npLinspace(0, train - 1, n);
                for (int i = 0; i < n; i++) t[i] = (float) l[n - 1 - i];
                return t;
            }
            case "leading": {
                int ratio = train / n;
                float offset = c.getInt("steps_offset");
                for (int i = 0; i < n; i++) t[i] = (float) ((long) (n - 1 - i) * ratio) + offset;
                return t;
            }
            case "trailing": {
                double[] a = npArange(train, 0, -((double) train / n));
                float[] out = new float[a.length];
                for (int i = 0; i < a.length; i++) out[i] = (float) Math.rint(a[i]) - 1f;
                return out;
            }
            default:
                throw unknownSpacing(c);
        }
    }

    static UnsupportedOperationException unknownSpacing(SchedulerConfig c) {
        return new UnsupportedOperationException(c.className() + ": timestep_spacing '" + c.getString("timestep_spacing")
                + "' is not supported (linspace, leading, trailing)");
    }

    /** {@code np.log} of the float32 training sigmas (float32), for {@link #sigmaToT}. */
    static float[] logSigmas(float[] trainSigmas) {
        float[] out = new float[trainSigmas.length];
        for (int i = 0; i < out.length; i++) out[i] = (float) Math.log(trainSigmas[i]);
        return out;
    }

    /**
     * diffusers' {@code _sigma_to_t} for a float64 sigma (numpy): the fractional training timestep
     * whose log-sigma it falls on, interpolated linearly between the two neighbours.
     */
    static double sigmaToT(double sigma, float[] logSigmas) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        int low = lowIndex(logSigma, logSigmas);
        float lo = logSigmas[low];
        float hi = logSigmas[low + 1];
        double w = (lo - logSigma) / (double) (lo - hi);
        w = Math.min(1, Math.max(0, w));
        return (1 - w) * low + w * (low + 1);
    }

    /** {@link #sigmaToT} for a float32 torch sigma: diffusers' DPM2 runs it in float32 throughout. */
    static float sigmaToT(float sigma, float[] logSigmas) {
        float logSigma = (float) Math.log(Math.max(sigma, 1e-10f));
        int low = lowIndex(logSigma, logSigmas);
        float lo = logSigmas[low];
        float hi = logSigmas[low + 1];
        float w = (lo - logSigma) / (lo - hi);
        w = Math.min(1f, Math.max(0f, w));
        return (1f - w) * low + w * (low + 1);
    }

    /** The last index whose log-sigma is &lt;= logSigma (0 if none), at most n - 2. */
    private static int lowIndex(double logSigma, float[] logSigmas) {
        int low = 0;
        for (int i = 0; i < logSigmas.length; i++) {
            if (logSigma - logSigmas[i] >= 0) low = i;
        }
        return Math.min(low, logSigmas.length - 2);
    }

    /** Karras et al. (2022) sigmas (rho 7) from sigmaMax down to sigmaMin, float64 as numpy computes them. */
    static double[] karras(double sigmaMin, double sigmaMax, int n) {
        double rho = 7.0;
        double[] ramp = npLinspace(0, 1, n);
        double minInvRho = Math.pow(sigmaMin, 1 / rho);
        double maxInvRho = Math.pow(sigmaMax, 1 / rho);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = Math.pow(maxInvRho + ramp[i] * (minInvRho - maxInvRho), rho);
        return out;
    }

    /**
     * Integer timesteps of diffusers' multistep solvers (DPM-Solver, UniPC, DEIS): n + 1 points of
     * which the last is dropped, so the schedule never reaches timestep 0.
     */
    static long[] multistepTimesteps(SchedulerConfig c, int n, int lastTimestep) {
        int train = c.getInt("num_train_timesteps");
        long[] t;
        switch (c.getString("timestep_spacing")) {
            case "linspace": {
                double[] l = npLinspace(0, lastTimestep - 1, n + 1);
                t = new long[n];
                for (int i = 0; i < n; i++) t[i] = (long) Math.rint(l[n - i]);
                return t;
            }
            case "leading": {
                int ratio = lastTimestep / (n + 1);
                t = new long[n];
                for (int i = 0; i < n; i++) t[i] = (long) (n - i) * ratio + c.getInt("steps_offset");
                return t;
            }
            case "trailing": {
                double[] a = npArange(lastTimestep, 0, -((double) train / n));
                t = new long[a.length];
                for (int i = 0; i < a.length; i++) t[i] = (long) Math.rint(a[i]) - 1;
                return t;
            }
            default:
                throw unknownSpacing(c);
        }
    }

    /**
     * Integer timesteps of DDIM and DDPM: n points, descending, per timestep_spacing.
     */
    static long[] discreteTimesteps(SchedulerConfig c, int n) {
        int train = c.getInt("num_train_timesteps");
        long[] t = new long[n];
        switch (c.getString("timestep_spacing")) {
            case "linspace": {
                double[] l = npLinspace(0, train - 1, n);
                for (int i = 0; i < n; i++) t[i] = (long) Math.rint(l[n - 1 - i]);
                return t;
            }
            case "leading": {
                int ratio = train / n;
                for (int i = 0; i < n; i++) t[i] = (long) (n - 1 - i) * ratio + c.getInt("steps_offset");
                return t;
            }
            case "trailing": {
                double[] a = npArange(train, 0, -((double) train / n));
                t = new long[a.length];
                for (int i = 0; i < a.length; i++) t[i] = (long) Math.rint(a[i]) - 1;
                return t;
            }
            default:
                throw unknownSpacing(c);
        }
    }

    /**
     * The multistep solvers' schedule: integer timesteps and their sigmas (Karras sigmas and the
     * timesteps nearest to them with {@code karras}), plus a slot for the final sigma the caller sets.
     */
    record Multistep(long[] timesteps, float[] sigmas) {
        static Multistep of(SchedulerConfig c, int n, int lastTimestep, float[] trainSigmas, float[] logSigmas,
                            boolean karras) {
            long[] t = multistepTimesteps(c, n, lastTimestep);
            float[] s;
            if (karras) {
                double[] k = karras(trainSigmas[0], trainSigmas[trainSigmas.length - 1], n);
                t = new long[k.length];
                s = new float[k.length + 1];
                for (int i = 0; i < k.length; i++) {
                    t[i] = (long) Math.rint(sigmaToT(k[i], logSigmas));
                    s[i] = (float) k[i];
                }
            } else {
                s = new float[t.length + 1];
                for (int i = 0; i < t.length; i++) s[i] = (float) interp(t[i], trainSigmas);
            }
            return new Multistep(t, s);
        }
    }

    /** alpha_t = 1 / sqrt(sigma^2 + 1) and sigma_t = sigma * alpha_t (float32). */
    static float[] alphaSigma(float sigma) {
        float alpha = 1f / (float) Math.sqrt(sigma * sigma + 1f);
        return new float[] {alpha, sigma * alpha};
    }

    /**
     * What a multistep solver works with, from the model's output at {@code sigma}: the predicted
     * clean sample x0 ({@code predictX0}, as dpmsolver++ and UniPC's bh variants) or the noise.
     */
    static NDArray convertModelOutput(NDArray modelOutput, NDArray sample, float sigma, String predictionType,
                                      boolean predictX0) {
        float[] as = alphaSigma(sigma);
        float alphaT = as[0];
        float sigmaT = as[1];
        if (predictX0) {
            return switch (predictionType) {
                case "epsilon" -> sample.sub(modelOutput.mul(sigmaT)).div(alphaT);
                case "sample" -> modelOutput;
                default -> sample.mul(alphaT).sub(modelOutput.mul(sigmaT)); // v_prediction
            };
        }
        return switch (predictionType) {
            case "epsilon" -> modelOutput;
            case "sample" -> sample.sub(modelOutput.mul(alphaT)).div(sigmaT);
            default -> modelOutput.mul(alphaT).add(sample.mul(sigmaT)); // v_prediction
        };
    }

    /** lambda = log(alpha_t) - log(sigma_t) of a sigma (float32). */
    static float lambda(float[] alphaSigma) {
        return (float) Math.log(alphaSigma[0]) - (float) Math.log(alphaSigma[1]);
    }

    /** Sigma of the training timestep 0: what final_sigmas_type "sigma_min" appends. */
    static float sigmaMin(float[] alphasCumprod) {
        return (float) Math.sqrt((1f - alphasCumprod[0]) / alphasCumprod[0]);
    }

    /** One noise-drawing helper for every scheduler: noise of {@code like}'s shape from the job's generator. */
    static NDArray noise(StepScope s, io.latentfarm.model.random.TorchGenerator generator,
                         NDArray like, String who) {
        if (generator == null) throw new IllegalArgumentException(who + " draws noise: it needs the job's generator");
        return generator.randn(s.manager(), like.getShape());
    }

    static float max(float[] x) {
        float m = Float.NEGATIVE_INFINITY;
        for (float v : x) m = Math.max(m, v);
        return m;
    }
}
