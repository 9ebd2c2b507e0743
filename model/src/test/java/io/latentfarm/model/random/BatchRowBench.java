package io.latentfarm.model.random;

/**
 * Times image i's noise of a huge batch, beside the whole draw of a 16-image batch measured in
 * the same run. Not a test; run it from the model module after {@code mvn -pl model -am test-compile}:
 * <pre>java -cp model/target/classes:model/target/test-classes:$(ls ~/.m2/repository/ai/djl/api/*&#47;api-*.jar | head -1) \
 *     io.latentfarm.model.random.BatchRowBench</pre>
 */
public final class BatchRowBench {

    private BatchRowBench() {
    }

    public static void main(String[] args) {
        int n = 1_000_000;
        int row = n - 1;
        long[] one = {1, 4, 64, 64};
        long t0 = System.nanoTime();
        Mt19937Jump.characteristicPolynomial();
        System.out.printf("characteristic polynomial (Berlekamp-Massey, once per JVM, cold): %.1f ms%n", ms(t0));
        for (int rep = 0; rep < 5; rep++) {
            long full = System.nanoTime();
            new TorchGenerator(rep).randn(16, 4, 64, 64);
            double fullMs = ms(full);

            long start = System.nanoTime();
            Mt19937Jump jump = Mt19937Jump.ahead((long) row * 4 * 64 * 64);
            double polyMs = ms(start);
            long apply = System.nanoTime();
            int[] window = new int[Mt19937Jump.N];
            java.util.Arrays.fill(window, 0x5bd1e995 + rep);
            jump.apply(window);
            double applyMs = ms(apply);

            TorchGenerator view = new TorchGenerator(rep).batchRow(n, row);
            long first = System.nanoTime();
            view.randn(one);
            double firstMs = ms(first);
            int steps = 20;
            long later = System.nanoTime();
            for (int s = 0; s < steps; s++) view.randn(one);
            double stepMs = ms(later) / steps;
            System.out.printf("run %d: whole draw of 16x4x64x64 %.1f ms | row %d of %dx4x64x64: jump polynomial %.1f ms,"
                            + " its application %.2f ms; view: initial latents %.1f ms, each ancestral step %.2f ms%n",
                    rep + 1, fullMs, row, n, polyMs, applyMs, firstMs, stepMs);
        }
    }

    private static double ms(long since) {
        return (System.nanoTime() - since) / 1e6;
    }
}
