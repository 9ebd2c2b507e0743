package io.latentfarm.cli;

import org.junit.jupiter.api.Test;

import static io.latentfarm.cli.CliTestSupport.run;
import static io.latentfarm.cli.CliTestSupport.tinyModel;
import static org.junit.jupiter.api.Assertions.*;

/** The bench commands run and report their numbers (what they measure is not asserted: no timed tests). */
class BenchCommandTest {

    @Test
    void unetBenchPrintsTheBaselinesAndOneRowPerModelAndDtype() {
        CliTestSupport.Run r = run("bench", "unet", "--model", tinyModel().toString(), "--latent", "8", "--iters", "1",
                "--dtype", "fp32", "--dtype", "bf16");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("matmul 2048x2048x2048 (baseline):"), r.out());
        assertTrue(r.out().matches("(?s).*matmul 2048x2048x2048 bf16: [0-9.]+ GFLOP/s = [0-9.]+x fp32.*"), r.out());
        assertTrue(r.out().matches("(?s).*unet .*tiny-sd-v1 fp32: [0-9.]+ s/step, [0-9.]+ GFLOP/step, [0-9.]+ GFLOP/s = [0-9.]+x matmul\n.*"), r.out());
        assertTrue(r.out().matches("(?s).*unet .*tiny-sd-v1 bf16: [0-9.]+ s/step, [0-9.]+ GFLOP/step, [0-9.]+ GFLOP/s = [0-9.]+x matmul, [0-9.]+x the fp32 step.*"), r.out());
        assertNotEquals(0, run("bench", "unet", "--model", tinyModel().toString(), "--dtype", "fp8").code());
    }

    @Test
    void generateBenchPrintsPhasesAndPeakMemory() {
        CliTestSupport.Run r = run("bench", "generate", "--model", tinyModel().toString(), "--size", "64", "--steps", "2",
                "--dtype", "bf16");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("2 steps, bf16 "), r.out());
        assertTrue(r.out().contains("VAE decode"), r.out());
        assertTrue(r.out().matches("(?s).*peak \\(VmHWM\\) [0-9]+ MiB.*"), r.out());
    }
}
