package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.random.TorchGenerator;

/**
 * A diffusers noise scheduler, driven by step index (PNDM's timestep list repeats a value, so a
 * timestep does not identify a step). One object per job: schedulers keep state across steps
 * (PNDM's and LMS's history, DPM-Solver's previous outputs).
 *
 * <p>Tensors: inputs stay on their device; results are fp32 NDArrays owned by the manager of
 * {@code sample}; a step's intermediates are closed before it returns. State kept between steps
 * lives in the scheduler's own manager, released by {@link #close()}.
 */
public interface Scheduler extends AutoCloseable {

    /** diffusers' {@code set_timesteps(num_inference_steps)}; resets the stepping state. */
    void setTimesteps(int numInferenceSteps);

    /** The values the UNet gets, one per step (fractional for the sigma-based schedulers). */
    double[] timesteps();

    /** Model calls ({@code timesteps().length}): PNDM makes one more than the steps asked for, Heun and DPM2 2n - 1. */
    default int numSteps() {
        return timesteps().length;
    }

    /** Factor for the initial latents ({@code latents = randn * initNoiseSigma}). */
    double initNoiseSigma();

    /** diffusers' {@code scale_model_input(sample, timesteps[stepIndex])}; may return {@code sample} itself. */
    NDArray scaleModelInput(NDArray sample, int stepIndex);

    /**
     * diffusers' {@code step(model_output, timesteps[stepIndex], sample, generator=generator).prev_sample}.
     * Steps are taken in order 0, 1, 2, ... after {@link #setTimesteps}. {@code generator} is the
     * job's generator (noise of ancestral/eta>0 steps, drawn with the sample's shape); may be null
     * for schedulers that draw none.
     */
    NDArray step(NDArray modelOutput, int stepIndex, NDArray sample, TorchGenerator generator);

    /** diffusers' {@code scheduler.order}. */
    int order();

    /** The resolved configuration (the class's defaults overlaid with the folder's accepted keys). */
    SchedulerConfig config();

    /** DDIM's {@code eta} (what the pipeline passes where {@code step} accepts it); ignored by the others. */
    default void setEta(double eta) {
    }

    /** Releases the state kept between steps. */
    @Override
    void close();
}
