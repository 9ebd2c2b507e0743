package io.latentfarm.model.pipeline;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import io.latentfarm.model.nn.CpuFeatures;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class PipelineOptionsTest {

    @Test
    void wordsResolveToDeviceAndDtype() {
        PipelineOptions bf16 = PipelineOptions.resolve("cpu", "bf16", null);
        assertEquals(Device.cpu(), bf16.device());
        assertEquals(DataType.BFLOAT16, bf16.dtype());
        assertEquals(DataType.FLOAT32, bf16.activationDType(), "bf16 keeps float32 activations and latents");
        assertEquals("bf16", bf16.dtypeName());
        assertEquals("cpu", bf16.deviceName());
        assertEquals(DataType.FLOAT16, PipelineOptions.resolve("cpu", "FP16", null).dtype());
        assertEquals(DataType.FLOAT32, PipelineOptions.resolve(null, null, null).withVariant("fp16").activationDType());
        boolean gpu = Engine.getInstance().getGpuCount() > 0;
        assertEquals(gpu ? DataType.FLOAT16 : DataType.FLOAT32, PipelineOptions.resolve("auto", "auto", null).dtype());
        DataType autoBf16 = PipelineOptions.resolve("cpu", "auto-bf16", null).dtype();
        assertEquals(CpuFeatures.hasBf16() ? DataType.BFLOAT16 : DataType.FLOAT32, autoBf16);
    }

    @Test
    void autoBf16LooksForAmxOrAvx512Bf16() {
        assertTrue(CpuFeatures.hasBf16(CpuFeatures.parse(" fpu avx512f avx512_bf16 avx512vl")));
        assertTrue(CpuFeatures.hasBf16(CpuFeatures.parse("amx_bf16 amx_tile amx_int8")));
        assertFalse(CpuFeatures.hasBf16(CpuFeatures.parse("fpu avx2 avx512f avx512_fp16")));
        assertFalse(CpuFeatures.hasBf16(CpuFeatures.parse("")));
    }

    @Test
    void badWordsNameTheFieldAndTheChoices() {
        String dtype = assertThrows(IllegalArgumentException.class, () -> PipelineOptions.resolve("cpu", "int8", null)).getMessage();
        assertTrue(dtype.startsWith("dtype: 'int8'") && dtype.contains("fp32, fp16, bf16"), dtype);
        String device = assertThrows(IllegalArgumentException.class, () -> PipelineOptions.resolve("tpu", "fp32", null)).getMessage();
        assertTrue(device.startsWith("device: 'tpu'") && device.contains("cuda:N"), device);
        String gpu = assertThrows(IllegalArgumentException.class, () -> PipelineOptions.resolve("cuda:99", "fp16", null)).getMessage();
        assertTrue(gpu.startsWith("device: cuda:99") && gpu.contains("libtorch sees"), gpu);
    }

    @Test
    void fp16DecodesInFloat32WhenForceUpcastOrTheSettingSaysSo() {
        PipelineOptions fp16 = new PipelineOptions(Device.cpu(), DataType.FLOAT16, null);
        assertEquals(DataType.FLOAT32, fp16.vaeDType(true), "force_upcast in the VAE config");
        assertEquals(DataType.FLOAT16, fp16.vaeDType(false));
        assertEquals(DataType.FLOAT32, fp16.withUpcastVae(true).vaeDType(false), "the setting wins");
        assertEquals(DataType.FLOAT16, fp16.withUpcastVae(false).vaeDType(true));
        assertEquals(DataType.BFLOAT16, new PipelineOptions(Device.cpu(), DataType.BFLOAT16, null).vaeDType(true));
    }
}
