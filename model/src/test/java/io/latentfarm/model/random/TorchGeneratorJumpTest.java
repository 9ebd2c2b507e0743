package io.latentfarm.model.random;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/** mt19937 jump-ahead, and batch rows drawn by skipping equal to the rows of the whole draw. */
class TorchGeneratorJumpTest {

    /** Thresholds that send every row draw down the skipping path and every skip through a polynomial. */
    private static final long ALWAYS = 0;
    private static final long NEVER = Long.MAX_VALUE;

    private static long[] next(TorchGenerator g, int count) {
        long[] out = new long[count];
        for (int i = 0; i < count; i++) out[i] = g.nextUInt32();
        return out;
    }

    @Test
    void characteristicPolynomialHasDegree19937() {
        long[] p = Mt19937Jump.characteristicPolynomial();
        assertEquals(1, p[0] & 1, "P(0) = 1");
        assertEquals(1, (p[Mt19937Jump.DEGREE >>> 6] >>> (Mt19937Jump.DEGREE & 63)) & 1, "monic of degree 19937");
        // x^k for k < 19937 is already reduced
        long[] x100 = Mt19937Jump.xPowModP(100);
        assertEquals(1L << 36, x100[1]);
        assertEquals(1, Arrays.stream(x100).filter(w -> w != 0).count());
    }

    @Test
    void jumpEqualsStepping() {
        long[] jumps = {1, 2, 623, 624, 625, 1000, 19_937, 100_003, 2_000_000};
        int[] consumedFirst = {0, 5, 623, 700};
        for (long seed : new long[] {0, 123456789}) {
            for (int before : consumedFirst) {
                for (long j : jumps) {
                    TorchGenerator jumped = new TorchGenerator(seed);
                    TorchGenerator stepped = new TorchGenerator(seed);
                    next(jumped, before);
                    next(stepped, before);
                    jumped.jump(j);
                    for (long k = 0; k < j; k++) stepped.nextUInt32();
                    assertArrayEquals(next(stepped, 1500), next(jumped, 1500),
                            "seed " + seed + ", " + before + " drawn, jump " + j);
                }
            }
        }
    }

    /** Shapes with numel % 16 == 0 and != 0, rows inside one block, rows across blocks, rows in the tail redraw. */
    private static final long[][] SHAPES = {
            {5, 3, 7},        // 105 values: tail redraw of [89, 105), row 4 reaches it
            {7, 4, 5, 7},     // 980 values: tail [964, 980)
            {40, 1},          // one value a row: rows 24..39 are in the tail
            {2, 9},           // 18 values: both rows touch the tail [2, 18)
            {1, 17},
            {3, 16},          // whole blocks, no tail
            {6, 4, 8, 8},
            {33, 5},          // 165 values, rows shorter than a block
    };

    @Test
    void skippingRowEqualsRowOfTheWholeDraw() {
        for (TorchGenerator.NormalKernel kernel : TorchGenerator.NormalKernel.values()) {
            for (long[] shape : SHAPES) {
                for (int drawnBefore : new int[] {0, 3, 1000}) {
                    TorchGenerator whole = new TorchGenerator(77, kernel);
                    next(whole, drawnBefore);
                    float[] all = whole.randn(shape);
                    long[] after = next(whole, 700);
                    int per = all.length / (int) shape[0];
                    for (int row = 0; row < shape[0]; row++) {
                        for (long minPolyJump : new long[] {ALWAYS, NEVER}) {
                            TorchGenerator g = new TorchGenerator(77, kernel).rowDrawThresholds(ALWAYS, minPolyJump);
                            next(g, drawnBefore);
                            String what = kernel + " " + Arrays.toString(shape) + " row " + row + ", " + drawnBefore
                                    + " drawn before, " + (minPolyJump == ALWAYS ? "jumping" : "stepping");
                            assertArrayEquals(Arrays.copyOfRange(all, row * per, (row + 1) * per),
                                    g.randnSlice(shape, row), what);
                            assertArrayEquals(after, next(g, 700), what + ": state afterwards");
                        }
                    }
                }
            }
        }
    }

    /** An ancestral sampler's view: the initial latents, then one draw of the same shape every step. */
    @Test
    void batchRowViewJumpsEveryStep() {
        for (long[] shape : new long[][] {{5, 3, 7}, {6, 4, 8, 8}, {40, 1}}) {
            long[] one = shape.clone();
            one[0] = 1;
            for (int row = 0; row < shape[0]; row++) {
                TorchGenerator whole = new TorchGenerator(9);
                TorchGenerator view = new TorchGenerator(9).rowDrawThresholds(ALWAYS, ALWAYS).batchRow((int) shape[0], row);
                int per = (int) (Arrays.stream(shape).reduce(1, Math::multiplyExact) / shape[0]);
                for (int draw = 0; draw < 5; draw++) {
                    float[] all = whole.randn(shape);
                    assertArrayEquals(Arrays.copyOfRange(all, row * per, (row + 1) * per), view.randn(one),
                            Arrays.toString(shape) + " row " + row + ", draw " + draw);
                }
                assertArrayEquals(next(whole, 700), next(view, 700), Arrays.toString(shape) + " row " + row + ": state");
            }
        }
    }

    /** Above the full-draw limit the default thresholds skip: still the whole draw's row. */
    @Test
    void defaultThresholdsAboveTheFullDrawLimit() {
        long[] shape = {300, 4, 64, 64};   // 4,915,200 values > FULL_DRAW_MAX
        assertTrue(300L * 4 * 64 * 64 > TorchGenerator.FULL_DRAW_MAX);
        TorchGenerator whole = new TorchGenerator(2024);
        float[] all = whole.randn(shape);
        long[] after = next(whole, 700);
        int per = 4 * 64 * 64;
        for (int row : new int[] {0, 150, 299}) {
            TorchGenerator g = new TorchGenerator(2024);
            assertArrayEquals(Arrays.copyOfRange(all, row * per, (row + 1) * per), g.randnSlice(shape, row), "row " + row);
            assertArrayEquals(after, next(g, 700), "row " + row + ": state afterwards");
        }
    }

    /**
     * Row 999,999 of a 1,000,000-image 512x512 batch (16.4·10^9 values, too many for one array):
     * a view draws it and its step noise, and ends where a view of row 0 ends (the state after the
     * whole draw, reached by two different sequences of jumps).
     */
    @Test
    void rowOfAMillionImageBatch() {
        long[] one = {1, 4, 64, 64};
        TorchGenerator last = new TorchGenerator(31337).batchRow(1_000_000, 999_999);
        TorchGenerator first = new TorchGenerator(31337).batchRow(1_000_000, 0);
        for (int draw = 0; draw < 3; draw++) {
            float[] row = last.randn(one);
            assertEquals(4 * 64 * 64, row.length);
            double sum = 0;
            double squares = 0;
            for (float v : row) {
                assertTrue(Float.isFinite(v));
                sum += v;
                squares += v * v;
            }
            double mean = sum / row.length;
            assertEquals(0, mean, 0.05, "mean of a standard normal row");
            assertEquals(1, squares / row.length - mean * mean, 0.05, "variance of a standard normal row");
            assertFalse(Arrays.equals(row, first.randn(one)), "rows 0 and 999,999 differ");
        }
        assertArrayEquals(next(first, 700), next(last, 700), "both views end at the state after three whole draws");

        // 105,000,105 values: the last row reaches the tail redraw; the same row by stepping, and the
        // views of rows 0 and 500,000 end where it ends
        long[] small = {1, 3, 5, 7};
        int n = 1_000_001;
        TorchGenerator jumping = new TorchGenerator(5).batchRow(n, n - 1);
        TorchGenerator stepping = new TorchGenerator(5).rowDrawThresholds(ALWAYS, NEVER).batchRow(n, n - 1);
        assertArrayEquals(stepping.randn(small), jumping.randn(small), "last row of 1,000,001 x 3 x 5 x 7");
        long[] after = next(stepping, 700);
        assertArrayEquals(after, next(jumping, 700));
        for (int row : new int[] {0, 500_000}) {
            TorchGenerator view = new TorchGenerator(5).batchRow(n, row);
            view.randn(small);
            assertArrayEquals(after, next(view, 700), "row " + row + " of 1,000,001 x 3 x 5 x 7: state");
        }
        assertThrows(IllegalArgumentException.class,
                () -> new TorchGenerator(1).randnSlice(new long[] {2, Integer.MAX_VALUE}, 0),
                "a row larger than an array");
    }
}
