package io.latentfarm.model.pipeline;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;

import io.latentfarm.model.nn.CpuFeatures;

import java.util.Locale;

/**
 * Where and how a pipeline runs.
 *
 * <ul>
 *   <li>{@code FLOAT32}: everything in float32 (the CPU default).</li>
 *   <li>{@code FLOAT16}: weights loaded as fp16 and every layer in fp16 (the GPU default); the VAE
 *       in float32 when {@code upcastVae} says so, or, when it is null, the VAE config's
 *       {@code force_upcast} (true unless the config says otherwise, as in diffusers).</li>
 *   <li>{@code BFLOAT16}: mixed precision: convolutions, linear layers and attention in bf16,
 *       norms, the timestep embedding, the scheduler and the latents in float32.</li>
 * </ul>
 * {@code variant} picks weight files such as {@code diffusion_pytorch_model.fp16.safetensors}.
 */
public record PipelineOptions(Device device, DataType dtype, String variant, Boolean upcastVae) {

    public PipelineOptions {
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16 && dtype != DataType.BFLOAT16) {
            throw new IllegalArgumentException("dtype " + dtype + " is not one of fp32, fp16, bf16");
        }
    }

    public PipelineOptions(Device device, DataType dtype, String variant) {
        this(device, dtype, variant, null);
    }

    public static PipelineOptions cpu() {
        return new PipelineOptions(Device.cpu(), DataType.FLOAT32, null);
    }

    /** The first GPU in fp16 when the engine sees one, else the CPU in fp32. */
    public static PipelineOptions auto(String variant) {
        return resolve("auto", "auto", variant);
    }

    /**
     * Options from the command line's or the worker config's words.
     *
     * @param device auto (the first GPU the engine sees, else the CPU), cpu, cuda or cuda:N
     * @param dtype  auto (fp16 on a GPU, fp32 on a CPU), auto-bf16 (as auto, but bf16 on a CPU that
     *               reports AMX-BF16 or AVX512-BF16), fp32, fp16 or bf16
     * @throws IllegalArgumentException naming the field and what it accepts
     */
    public static PipelineOptions resolve(String device, String dtype, String variant) {
        Device d = parseDevice(device == null || device.isBlank() ? "auto" : device.trim());
        String t = dtype == null || dtype.isBlank() ? "auto" : dtype.trim().toLowerCase(Locale.ROOT);
        boolean gpu = d.isGpu();
        DataType type = switch (t) {
            case "auto" -> gpu ? DataType.FLOAT16 : DataType.FLOAT32;
            case "auto-bf16" -> gpu ? DataType.FLOAT16 : CpuFeatures.hasBf16() ? DataType.BFLOAT16 : DataType.FLOAT32;
            case "fp32", "float32" -> DataType.FLOAT32;
            case "fp16", "float16" -> DataType.FLOAT16;
            case "bf16", "bfloat16" -> DataType.BFLOAT16;
            default -> throw new IllegalArgumentException("dtype: '" + dtype
                    + "' is not one of auto, auto-bf16, fp32, fp16, bf16");
        };
        return new PipelineOptions(d, type, variant);
    }

    private static Device parseDevice(String s) {
        String v = s.toLowerCase(Locale.ROOT);
        if (v.equals("auto")) {
            return Engine.getInstance().getGpuCount() > 0 ? Device.gpu() : Device.cpu();
        }
        if (v.equals("cpu")) {
            return Device.cpu();
        }
        if (v.equals("cuda") || v.matches("cuda:\\d{1,3}")) {
            int index = v.equals("cuda") ? 0 : Integer.parseInt(v.substring(5));
            int gpus = Engine.getInstance().getGpuCount();
            if (index >= gpus) {
                throw new IllegalArgumentException("device: " + s + " asked for, but libtorch sees "
                        + (gpus == 0 ? "no GPU" : gpus + " GPU(s), cuda:0 to cuda:" + (gpus - 1)));
            }
            return Device.gpu(index);
        }
        throw new IllegalArgumentException("device: '" + s + "' is not one of auto, cpu, cuda, cuda:N");
    }

    public PipelineOptions withVariant(String v) {
        return new PipelineOptions(device, dtype, v, upcastVae);
    }

    public PipelineOptions withUpcastVae(Boolean upcast) {
        return new PipelineOptions(device, dtype, variant, upcast);
    }

    /** The dtype of activations between layers: float32 in the mixed bf16 mode, else {@link #dtype()}. */
    public DataType activationDType() {
        return activationDType(dtype);
    }

    /** The activation dtype of layers built with weights of {@code weights} dtype. */
    public static DataType activationDType(DataType weights) {
        return weights == DataType.BFLOAT16 ? DataType.FLOAT32 : weights;
    }

    /** The VAE's weights dtype: float32 for fp16 when the setting or the VAE config's force_upcast asks. */
    public DataType vaeDType(boolean forceUpcast) {
        boolean upcast = upcastVae != null ? upcastVae : forceUpcast;
        return dtype == DataType.FLOAT16 && upcast ? DataType.FLOAT32 : dtype;
    }

    /** fp32, fp16 or bf16. */
    public String dtypeName() {
        return dtypeName(dtype);
    }

    public static String dtypeName(DataType t) {
        return switch (t) {
            case FLOAT16 -> "fp16";
            case BFLOAT16 -> "bf16";
            default -> "fp32";
        };
    }

    /** cpu, or cuda:N. */
    public String deviceName() {
        return device.isGpu() ? "cuda:" + device.getDeviceId() : "cpu";
    }
}
