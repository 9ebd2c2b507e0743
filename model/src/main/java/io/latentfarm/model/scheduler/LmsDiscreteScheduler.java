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
 * diffusers' LMSDiscreteScheduler: linear multistep (order 4) over the last derivatives. The
 * coefficients are integrals of Lagrange basis polynomials between consecutive sigmas; diffusers
 * takes them from scipy's quad, here they are exact (Gauss-Legendre with 4 nodes integrates the
 * degree &lt;= 3 polynomials exactly).
 */
public final class LmsDiscreteScheduler extends SigmaScheduler {
    public static final String CLASS_NAME = "LMSDiscreteScheduler";
    private static final int ORDER = 4;

    static ObjectNode defaults() {
        return SchedulerConfig.defaults(SchedulerConfig.betaDefaults(),
                "use_karras_sigmas", false, "use_exponential_sigmas", false, "use_beta_sigmas", false,
                "prediction_type", "epsilon", "timestep_spacing", "linspace", "steps_offset", 0);
    }

    public static LmsDiscreteScheduler fromConfig(JsonNode config, Map<String, ?> overrides) {
        return new LmsDiscreteScheduler(SchedulerConfig.resolve(CLASS_NAME, defaults(), config, overrides));
    }

    private final Deque<NDArray> derivatives = new ArrayDeque<>(); // newest last
    private int nextStep;

    public LmsDiscreteScheduler(SchedulerConfig config) {
        super(config, false);
    }

    @Override
    protected void onSetTimesteps() {
        derivatives.forEach(BaseScheduler::release);
        derivatives.clear();
        nextStep = 0;
    }

    /** The LMS coefficient of derivative {@code t - currentOrder} for the step from sigmas[t] to sigmas[t+1]. */
    double lmsCoefficient(int order, int t, int currentOrder) {
        double a = sigmas[t];
        double b = sigmas[t + 1];
        double half = (b - a) / 2;
        double mid = (a + b) / 2;
        double sum = 0;
        for (int q = 0; q < GL_NODES.length; q++) {
            double tau = mid + half * GL_NODES[q];
            double prod = 1;
            for (int k = 0; k < order; k++) {
                if (k == currentOrder) continue;
                prod *= (tau - sigmas[t - k]) / ((double) sigmas[t - currentOrder] - sigmas[t - k]);
            }
            sum += GL_WEIGHTS[q] * prod;
        }
        return sum * half;
    }

    private static final double[] GL_NODES = {
        -0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526};
    private static final double[] GL_WEIGHTS = {
        0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538};

    @Override
    public NDArray step(NDArray modelOutput, int stepIndex, NDArray sample, TorchGenerator generator) {
        checkIndex(stepIndex, timesteps.length);
        if (stepIndex != nextStep) {
            throw new IllegalStateException(CLASS_NAME + ": steps must be taken in order; expected step " + nextStep
                    + ", got " + stepIndex);
        }
        float sigma = sigmas[stepIndex];
        List<NDArray> evicted = new ArrayList<>();
        NDArray prev;
        try (StepScope s = new StepScope(sample, modelOutput)) {
            derivatives.forEach(s::use);
            NDArray predOriginal = predictOriginal(modelOutput, sample, sigma);
            derivatives.addLast(s.use(keep(sample.sub(predOriginal).div(sigma))));
            if (derivatives.size() > ORDER) evicted.add(derivatives.removeFirst());
            int order = Math.min(stepIndex + 1, ORDER);
            NDArray sum = null;
            Iterator<NDArray> newest = derivatives.descendingIterator();
            for (int k = 0; k < order; k++) {
                NDArray term = newest.next().mul((float) lmsCoefficient(order, stepIndex, k));
                sum = sum == null ? term : sum.add(term);
            }
            prev = s.result(sample.add(sum));
        }
        evicted.forEach(BaseScheduler::release);
        nextStep++;
        return prev;
    }

    @Override
    public void close() {
        derivatives.clear();
        super.close();
    }
}
