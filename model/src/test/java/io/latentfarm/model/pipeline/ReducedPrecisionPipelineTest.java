package io.latentfarm.model.pipeline;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.spec.ImageSpec;
import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every pipeline case of the fixture in bf16 and in fp16 (on the CPU, so that the dtype handling of
 * the GPU path runs in every build), each image against diffusers' float32 reference PNG. The
 * bounds are about twice the worst case measured; each case's figures are printed.
 */
class ReducedPrecisionPipelineTest {
    /**
     * Measured worst case: mean abs diff 0.47 levels, PSNR 50.2 dB with float32 attention (a CPU
     * without AMX); 0.62 levels, 48.4 dB with bf16 attention (euler_ancestral_6steps).
     */
    private static final double BF16_MAX_MEAN_ABS = 1.25;
    private static final double BF16_MIN_PSNR = 45;
    /**
     * Measured worst case: mean abs diff 0.079 levels, PSNR 59.1 dB (euler_ancestral_6steps); the
     * VAE decodes in float32 (the fixture's VAE config leaves force_upcast at its default, true).
     */
    private static final double FP16_MAX_MEAN_ABS = 0.2;
    private static final double FP16_MIN_PSNR = 55;

    @Test
    void everyPipelineCaseInBf16IsCloseToTheFloat32Reference() throws IOException {
        runCases(DataType.BFLOAT16, BF16_MAX_MEAN_ABS, BF16_MIN_PSNR);
    }

    @Test
    void everyPipelineCaseInFp16IsCloseToTheFloat32Reference() throws IOException {
        runCases(DataType.FLOAT16, FP16_MAX_MEAN_ABS, FP16_MIN_PSNR);
    }

    private static void runCases(DataType dtype, double maxMeanAbs, double minPsnr) throws IOException {
        List<String> report = new ArrayList<>();
        long t0 = System.nanoTime();
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(Reference.tinyModel(),
                new PipelineOptions(Device.cpu(), dtype, null))) {
            for (JsonNode c : Reference.cases("pipeline")) {
                String name = c.get("name").asText() + " " + PipelineOptions.dtypeName(dtype);
                List<ImageSpec> request = StableDiffusionPipelineTest.imagesOf(c);
                boolean[] finite = {true};
                List<RenderedImage> images = pipe.renderBatched(request, new ProgressListener() {
                    @Override
                    public void onStep(int step, int total) {
                    }

                    @Override
                    public void onLatents(int step, NDArray latents) {
                        assertEquals(DataType.FLOAT32, latents.getDataType(), name + ": latents stay float32");
                        for (float v : latents.toFloatArray()) finite[0] &= Float.isFinite(v);
                    }
                });
                assertTrue(finite[0], name + ": NaN or infinity in the latents");
                assertEquals(request.size(), images.size(), name);
                for (int i = 0; i < images.size(); i++) {
                    byte[] expected = StableDiffusionPipelineTest.referencePng(c, i, request.get(i));
                    byte[] got = images.get(i).rgb();
                    double meanAbs = meanAbsDiff(expected, got);
                    double psnr = psnr(expected, got);
                    String line = String.format("%s image %d: mean abs diff %.3f levels, PSNR %.1f dB", name, i, meanAbs, psnr);
                    report.add(line);
                    assertTrue(meanAbs <= maxMeanAbs, line + " exceeds the bound " + maxMeanAbs);
                    assertTrue(psnr >= minPsnr, line + " is below the bound " + minPsnr + " dB");
                }
            }
        }
        System.out.printf("ReducedPrecisionPipelineTest %s vs float32 reference PNGs (%.1f s):%n  %s%n",
                PipelineOptions.dtypeName(dtype), (System.nanoTime() - t0) / 1e9, String.join("\n  ", report));
    }

    static double meanAbsDiff(byte[] a, byte[] b) {
        assertEquals(a.length, b.length);
        long sum = 0;
        for (int i = 0; i < a.length; i++) sum += Math.abs((a[i] & 0xff) - (b[i] & 0xff));
        return (double) sum / a.length;
    }

    /** 10 log10(255^2 / MSE); infinite for identical images. */
    static double psnr(byte[] a, byte[] b) {
        double sq = 0;
        for (int i = 0; i < a.length; i++) {
            int d = (a[i] & 0xff) - (b[i] & 0xff);
            sq += d * d;
        }
        double mse = sq / a.length;
        return mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(255.0 * 255.0 / mse);
    }
}
