package io.latentfarm.worker.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The noise of a whole diffusers batch, handed out for a subset of its images: every draw is made
 * over the full batch shape (as diffusers' one generator does) and only the requested rows are
 * kept. Image i rendered alone thus gets exactly the numbers it gets in the full call.
 */
final class BatchNoise implements NoiseSource {
    private final TorchGenerator generator;
    private final int batchSize;
    private final int[] rows;

    BatchNoise(TorchGenerator generator, int batchSize, int[] rows) {
        this.generator = generator;
        this.batchSize = batchSize;
        this.rows = rows.clone();
    }

    /** The initial latents: randn over {@code fullShape} (leading dim = batch size), rows kept. */
    NDArray initial(NDManager manager, Shape fullShape) {
        return draw(manager, fullShape.slice(1));
    }

    /** Step noise for a tensor of {@code shape} = [rows.length, ...]. */
    @Override
    public NDArray randn(NDManager manager, Shape shape) {
        if (shape.get(0) != rows.length) {
            throw new IllegalArgumentException("noise for " + shape + " but this job renders " + rows.length + " images");
        }
        return draw(manager, shape.slice(1));
    }

    private NDArray draw(NDManager manager, Shape perImage) {
        long[] full = new long[perImage.dimension() + 1];
        full[0] = batchSize;
        System.arraycopy(perImage.getShape(), 0, full, 1, perImage.dimension());
        float[] all = generator.randn(full);
        int per = Math.toIntExact(perImage.size());
        float[] kept = new float[rows.length * per];
        for (int j = 0; j < rows.length; j++) {
            System.arraycopy(all, rows[j] * per, kept, j * per, per);
        }
        long[] shape = full.clone();
        shape[0] = rows.length;
        return manager.create(kept, new Shape(shape)).toType(DataType.FLOAT32, false);
    }
}
