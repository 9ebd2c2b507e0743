package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.latentfarm.model.random.TorchGenerator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * diffusers' PNDMScheduler (SD v1's default): pseudo linear multi-step (PLMS) steps, after four
 * Runge-Kutta (PRK) warm-up steps unless {@code skip_prk_steps} (SD v1 skips them: then the second
 * step re-evaluates the first timestep, so the list holds one timestep twice).
 */
public final class PndmScheduler extends BaseScheduler {
    public static final String CLASS_NAME = "PNDMScheduler";
    private static final int PNDM_ORDER = 4;

    static ObjectNode defaults() {
        return SchedulerConfig.defaults(SchedulerConfig.betaDefaults(),
                "skip_prk_steps", false, "set_alpha_to_one", false, "prediction_type", "epsilon",
                "timestep_spacing", "leading", "steps_offset", 0);
    }

    public static PndmScheduler fromConfig(JsonNode config, Map<String, ?> overrides) {
        return new PndmScheduler(SchedulerConfig.resolve(CLASS_NAME, defaults(), config, overrides));
    }

    private final float finalAlphaCumprod;
    private final boolean skipPrk;
    private int numInferenceSteps;
    private long[] prkTimesteps = new long[0];
    private long[] timesteps = new long[0];

    // running values
    private int counter;
    private final Deque<NDArray> ets = new ArrayDeque<>(); // newest last; PLMS reads the last four
    private NDArray curSample;
    private NDArray curModelOutput; // PRK's weighted sum

    public PndmScheduler(SchedulerConfig config) {
        super(config, false);
        this.finalAlphaCumprod = config.getBool("set_alpha_to_one") ? 1f : alphasCumprod[0];
        this.skipPrk = config.getBool("skip_prk_steps");
    }

    @Override
    public void setTimesteps(int n) {
        if (n < 1) throw new IllegalArgumentException("num_inference_steps must be >= 1, got " + n);
        numInferenceSteps = n;
        long[] base = baseTimesteps(n);
        if (skipPrk) {
            // [t0 .. t(n-2), t(n-2), t(n-1)] reversed: the second step re-evaluates the first timestep
            int m = base.length;
            List<Long> plms = new ArrayList<>();
            for (int i = 0; i < m - 1; i++) plms.add(base[i]);
            if (m >= 2) plms.add(base[m - 2]);
            plms.add(base[m - 1]);
            long[] asc = plms.stream().mapToLong(Long::longValue).toArray();
            prkTimesteps = new long[0];
            timesteps = reverse(asc);
        } else {
            if (base.length < PNDM_ORDER) {
                throw new IllegalArgumentException(CLASS_NAME + " with skip_prk_steps=false needs at least "
                        + PNDM_ORDER + " inference steps, got " + n);
            }
            long half = numTrainTimesteps / n / 2;
            List<Long> prk = new ArrayList<>();
            for (int i = base.length - PNDM_ORDER; i < base.length; i++) {
                prk.add(base[i]);
                prk.add(base[i] + half);
            }
            prk.remove(prk.size() - 1);
            List<Long> doubled = new ArrayList<>();
            for (long v : prk) {
                doubled.add(v);
                doubled.add(v);
            }
            List<Long> inner = doubled.subList(1, doubled.size() - 1);
            prkTimesteps = new long[inner.size()];
            for (int i = 0; i < inner.size(); i++) prkTimesteps[i] = inner.get(inner.size() - 1 - i);
            long[] plms = new long[base.length - 3];
            for (int i = 0; i < plms.length; i++) plms[i] = base[plms.length - 1 - i];
            timesteps = new long[prkTimesteps.length + plms.length];
            System.arraycopy(prkTimesteps, 0, timesteps, 0, prkTimesteps.length);
            System.arraycopy(plms, 0, timesteps, prkTimesteps.length, plms.length);
        }
        resetState();
    }

    /** diffusers' {@code _timesteps}: ascending, per timestep_spacing. */
    private long[] baseTimesteps(int n) {
        switch (config.getString("timestep_spacing")) {
            case "linspace": {
                double[] l = NoiseSchedule.npLinspace(0, numTrainTimesteps - 1, n);
                long[] out = new long[n];
                for (int i = 0; i < n; i++) out[i] = (long) Math.rint(l[i]);
                return out;
            }
            case "leading": {
                int ratio = numTrainTimesteps / n;
                long[] out = new long[n];
                for (int i = 0; i < n; i++) out[i] = (long) i * ratio + config.getInt("steps_offset");
                return out;
            }
            case "trailing": {
                double[] a = NoiseSchedule.npArange(numTrainTimesteps, 0, -((double) numTrainTimesteps / n));
                long[] out = new long[a.length];
                for (int i = 0; i < a.length; i++) out[i] = (long) Math.rint(a[a.length - 1 - i]) - 1;
                return out;
            }
            default:
                throw NoiseSchedule.unknownSpacing(config);
        }
    }

    private static long[] reverse(long[] a) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[a.length - 1 - i];
        return r;
    }

    private void resetState() {
        ets.forEach(BaseScheduler::release);
        ets.clear();
        release(curSample);
        curSample = null;
        release(curModelOutput);
        curModelOutput = null;
        counter = 0;
    }

    @Override
    public double[] timesteps() {
        return asDoubles(timesteps);
    }

    @Override
    public NDArray step(NDArray modelOutput, int stepIndex, NDArray sample, TorchGenerator generator) {
        checkIndex(stepIndex, timesteps.length);
        if (stepIndex != counter) {
            throw new IllegalStateException(CLASS_NAME + ": steps must be taken in order; expected step " + counter
                    + ", got " + stepIndex);
        }
        long timestep = timesteps[stepIndex];
        List<NDArray> evicted = new ArrayList<>();
        NDArray prev;
        try (StepScope s = new StepScope(sample, modelOutput, curSample, curModelOutput)) {
            ets.forEach(s::use);
            if (counter < prkTimesteps.length && !skipPrk) {
                prev = s.result(stepPrk(s, modelOutput, timestep, sample, evicted));
            } else {
                prev = s.result(stepPlms(s, modelOutput, timestep, sample, evicted));
            }
        }
        while (ets.size() > PNDM_ORDER) evicted.add(ets.removeFirst());
        evicted.forEach(BaseScheduler::release);
        counter++;
        return prev;
    }

    private NDArray stepPrk(StepScope s, NDArray modelOutput, long timestep, NDArray sample, List<NDArray> evicted) {
        long diffToPrev = counter % 2 != 0 ? 0 : numTrainTimesteps / numInferenceSteps / 2;
        long prevTimestep = timestep - diffToPrev;
        timestep = prkTimesteps[counter / 4 * 4];
        NDArray output = modelOutput;
        switch (counter % 4) {
            case 0:
                setCurModelOutput(addWeighted(curModelOutput, modelOutput, 1f / 6), evicted);
                ets.addLast(s.use(keep(modelOutput)));
                setCurSample(keep(sample), evicted);
                break;
            case 1:
            case 2:
                setCurModelOutput(addWeighted(curModelOutput, modelOutput, 1f / 3), evicted);
                break;
            default:
                output = addWeighted(curModelOutput, modelOutput, 1f / 6);
                setCurModelOutput(null, evicted);
                break;
        }
        NDArray cur = curSample != null ? s.use(curSample) : sample;
        return prevSample(cur, timestep, prevTimestep, output);
    }

    /** {@code acc + w * x} (acc may be absent: diffusers starts the sum at 0). */
    private static NDArray addWeighted(NDArray acc, NDArray x, float w) {
        NDArray wx = x.mul(w);
        return acc == null ? wx : acc.add(wx);
    }

    private void setCurModelOutput(NDArray v, List<NDArray> evicted) {
        if (curModelOutput != null) evicted.add(curModelOutput);
        curModelOutput = v == null ? null : keep(v);
    }

    private void setCurSample(NDArray kept, List<NDArray> evicted) {
        if (curSample != null) evicted.add(curSample);
        curSample = kept;
    }

    private NDArray stepPlms(StepScope s, NDArray modelOutput, long timestep, NDArray sample, List<NDArray> evicted) {
        if (!skipPrk && ets.size() < 3) {
            throw new IllegalStateException(CLASS_NAME + " can only run PLMS after 12 PRK steps");
        }
        long prevTimestep = timestep - numTrainTimesteps / numInferenceSteps;
        if (counter != 1) {
            ets.addLast(s.use(keep(modelOutput)));
        } else {
            prevTimestep = timestep;
            timestep = timestep + numTrainTimesteps / numInferenceSteps;
        }
        NDArray output;
        NDArray x = sample;
        int n = ets.size();
        Iterator<NDArray> newest = ets.descendingIterator();
        if (n == 1 && counter == 0) {
            output = modelOutput;
            setCurSample(keep(sample), evicted);
        } else if (n == 1 && counter == 1) {
            output = modelOutput.add(newest.next()).div(2f);
            x = curSample;
            evicted.add(curSample);
            curSample = null;
        } else if (n == 2) {
            NDArray e1 = newest.next();
            NDArray e2 = newest.next();
            output = e1.mul(3f).sub(e2).div(2f);
        } else if (n == 3) {
            NDArray e1 = newest.next();
            NDArray e2 = newest.next();
            NDArray e3 = newest.next();
            output = e1.mul(23f).sub(e2.mul(16f)).add(e3.mul(5f)).div(12f);
        } else {
            NDArray e1 = newest.next();
            NDArray e2 = newest.next();
            NDArray e3 = newest.next();
            NDArray e4 = newest.next();
            output = e1.mul(55f).sub(e2.mul(59f)).add(e3.mul(37f)).sub(e4.mul(9f)).mul((float) (1.0 / 24));
        }
        return prevSample(x, timestep, prevTimestep, output);
    }

    /** Formula (9) of the PNDM paper, as diffusers' {@code _get_prev_sample} (float32 scalars). */
    private NDArray prevSample(NDArray sample, long timestep, long prevTimestep, NDArray modelOutput) {
        float alphaProdT = alphasCumprod[(int) timestep];
        float alphaProdTPrev = prevTimestep >= 0 ? alphasCumprod[(int) prevTimestep] : finalAlphaCumprod;
        float betaProdT = 1f - alphaProdT;
        float betaProdTPrev = 1f - alphaProdTPrev;
        switch (predictionType()) {
            case "v_prediction":
                modelOutput = modelOutput.mul(sqrt(alphaProdT)).add(sample.mul(sqrt(betaProdT)));
                break;
            case "epsilon":
                break;
            default:
                throw new UnsupportedOperationException(CLASS_NAME + ": prediction_type '" + predictionType()
                        + "' (epsilon or v_prediction)");
        }
        float sampleCoeff = sqrt(alphaProdTPrev / alphaProdT);
        float denom = alphaProdT * sqrt(betaProdTPrev) + sqrt(alphaProdT * betaProdT * alphaProdTPrev);
        return sample.mul(sampleCoeff).sub(modelOutput.mul(alphaProdTPrev - alphaProdT).div(denom));
    }

    @Override
    public void close() {
        ets.clear();
        curSample = null;
        curModelOutput = null;
        super.close();
    }
}
