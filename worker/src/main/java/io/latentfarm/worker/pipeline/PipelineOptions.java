package io.latentfarm.worker.pipeline;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;

/**
 * Where and how a pipeline runs. fp32 on CPU (fp16 compute on CPU is extremely slow, FACTS.md);
 * fp16 on a GPU. {@code variant} picks weight files such as {@code diffusion_pytorch_model.fp16.safetensors}.
 */
public record PipelineOptions(Device device, DataType dtype, String variant) {

    public static PipelineOptions cpu() {
        return new PipelineOptions(Device.cpu(), DataType.FLOAT32, null);
    }

    /** The first GPU in fp16 when the engine sees one, else the CPU in fp32. */
    public static PipelineOptions auto(String variant) {
        if (Engine.getInstance().getGpuCount() > 0) {
            return new PipelineOptions(Device.gpu(), DataType.FLOAT16, variant);
        }
        return new PipelineOptions(Device.cpu(), DataType.FLOAT32, variant);
    }

    public PipelineOptions withVariant(String v) {
        return new PipelineOptions(device, dtype, v);
    }
}
