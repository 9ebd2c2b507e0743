package io.latentfarm.worker.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/** Standard normal noise for a job, drawn in a reproducible order (schedulers' step noise). */
public interface NoiseSource {
    NDArray randn(NDManager manager, Shape shape);
}
