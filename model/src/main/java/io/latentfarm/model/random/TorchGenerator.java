package io.latentfarm.model.random;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A per-job random generator equal to {@code torch.Generator("cpu").manual_seed(seed)} for
 * {@code torch.randn(shape, generator=g)} in float32: same mt19937 stream, same normal sampling,
 * same state after every call (state continues across calls, as when Euler ancestral draws its
 * step noise from the generator that made the initial latents).
 *
 * <p>torch's CPU normal sampling, reproduced here:
 * <ul>
 *   <li>numel &gt;= 16 (a contiguous float tensor): fill with uniforms ({@code (random() & 0xFFFFFF) * 2^-24}),
 *   then Box-Muller over blocks of 16 (u1 = 1 - data[j], u2 = data[j + 8], j &lt; 8); when numel % 16 != 0
 *   the last 16 values are drawn again and transformed again.</li>
 *   <li>numel &lt; 16: one {@code normal_distribution<double>} per element, two 53-bit uniforms from
 *   {@code random64()} per pair, the second value of a pair cached in the generator.</li>
 * </ul>
 * The 16-block transform exists in two builds of torch: {@link NormalKernel#AVX2} (torch's AVX2
 * kernel, Cephes-style float log/sincos polynomials with the FMA contractions GCC makes; the kernel
 * x86-64 torch runs on AVX2 machines and the one the tiny-sd-v1 fixture was generated with: it
 * matches that fixture bit for bit) and {@link NormalKernel#DEFAULT} (the portable kernel: float
 * log/cos/sin; other CPUs). They differ by at most a few ulp.
 *
 * <p>Row i of a batch's draw ({@link #randnSlice(long[], int)}, {@link #batchRow(int, int)}) costs
 * the row plus an mt19937 jump-ahead ({@code Mt19937Jump}) over the rest of the batch, so image
 * 999,999 of a million-image batch is as cheap as image 0.
 *
 * <p>Not thread-safe to share, and needs no sharing: every job owns its generator, there is no
 * global state (two jobs in two threads never disturb each other). Methods are synchronized anyway,
 * like torch's generator mutex.
 */
public final class TorchGenerator {

    /** Which of torch's CPU Box-Muller kernels (for float tensors with numel >= 16) to reproduce. */
    public enum NormalKernel { AVX2, DEFAULT }

    private static final int N = Mt19937Jump.N;
    /**
     * Up to this many values a row of a batch is cut from the whole draw (a 16-image 512x512 batch,
     * some 8 ms: Box-Muller costs ~30 ns a value); above it only the row's blocks are drawn and
     * the rest of the stream is skipped, which costs ~3 ns an output when stepped.
     */
    static final long FULL_DRAW_MAX = 1L << 18;
    /**
     * Skipping fewer outputs than this steps the generator (~11 ms at the limit); longer skips
     * apply a jump polynomial (~1.5 ms, after ~11 ms to compute the polynomial once per distance).
     */
    static final long MIN_POLY_JUMP = 1L << 22;

    private final long seed;
    private final NormalKernel kernel;
    /** For a batch-row view: the generator that draws the whole batch, and which row this view returns. */
    private final TorchGenerator batchSource;
    private final int batchSize;
    private final int batchRow;
    private final int[] mt = new int[N];
    private int index;
    /** Row draws of batches above this many values skip the rows before and after instead of drawing them. */
    private long fullDrawMax = FULL_DRAW_MAX;
    /** Skips of at least this many outputs jump by polynomial instead of stepping. */
    private long minPolyJump = MIN_POLY_JUMP;
    /** The jumps of recent row draws: a batch-row view repeats the same few distances every step. */
    private final Map<Long, Mt19937Jump> jumps = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Mt19937Jump> eldest) {
            return size() > 8;
        }
    };
    /** torch caches the second value of a double Box-Muller pair in the generator. */
    private double nextDoubleNormal;
    private boolean hasNextDoubleNormal;

    /** {@code torch.Generator("cpu").manual_seed(seed)}. */
    public TorchGenerator(long seed) {
        this(seed, NormalKernel.AVX2);
    }

    public TorchGenerator(long seed, NormalKernel kernel) {
        this.seed = seed;
        this.kernel = kernel;
        this.batchSource = null;
        this.batchSize = 0;
        this.batchRow = 0;
        // torch's mt19937 takes the low 32 bits of the 64-bit seed.
        mt[0] = (int) seed;
        for (int i = 1; i < N; i++) {
            int prev = mt[i - 1];
            mt[i] = 1812433253 * (prev ^ (prev >>> 30)) + i;
        }
        index = N;
    }

    private TorchGenerator(TorchGenerator source, int batchSize, int row) {
        this.seed = source.seed;
        this.kernel = source.kernel;
        this.batchSource = source;
        this.batchSize = batchSize;
        this.batchRow = row;
    }

    /**
     * A view for a worker that renders image {@code row} of a {@code batchSize}-image job alone:
     * {@code randn(shape)} with {@code shape[0] == 1} returns row {@code row} of
     * {@code randn([batchSize, shape[1:]...])} drawn from this generator, which advances exactly as
     * diffusers' does for the whole batch ({@link #randnSlice(long[], int)}: a large batch is
     * skipped by jump-ahead, not drawn). Use it for the initial latents and pass it to the
     * scheduler, whose step noise is drawn with the sample's shape (diffusers draws it for the
     * whole batch): every step jumps the same distances, so the view's generator keeps their jump
     * polynomials and a step pays only their application.
     */
    public TorchGenerator batchRow(int batchSize, int row) {
        if (batchSource != null) throw new IllegalStateException("already a batch-row view");
        if (batchSize < 1 || row < 0 || row >= batchSize) {
            throw new IllegalArgumentException("row " + row + " of a batch of " + batchSize);
        }
        return new TorchGenerator(this, batchSize, row);
    }

    public long seed() {
        return seed;
    }

    public NormalKernel kernel() {
        return kernel;
    }

    /** The next 32 random bits (torch's {@code generator->random()}), as an unsigned value in a long. */
    public synchronized long nextUInt32() {
        if (batchSource != null) return batchSource.nextUInt32();
        return next32() & 0xFFFFFFFFL;
    }

    /** torch's {@code random64()}: two draws, the first one the high half. */
    public synchronized long nextUInt64() {
        if (batchSource != null) return batchSource.nextUInt64();
        return random64();
    }

    /** {@code torch.randn(shape, generator=this)} in float32, row-major. */
    public synchronized float[] randn(long... shape) {
        if (batchSource != null) {
            if (shape.length == 0 || shape[0] != 1) {
                throw new IllegalArgumentException("a batch-row view draws one row, got shape " + Arrays.toString(shape));
            }
            long[] full = shape.clone();
            full[0] = batchSize;
            return batchSource.randnSlice(full, batchRow);
        }
        long n = numel(shape);
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("randn of " + n + " elements is too large");
        float[] out = new float[(int) n];
        if (n >= 16) {
            fillNormal16(out);
        } else {
            for (int i = 0; i < out.length; i++) out[i] = (float) normalDouble();
        }
        return out;
    }

    /** {@code torch.randn(shape, generator=this)} as an fp32 NDArray created on {@code manager}'s device. */
    public NDArray randn(NDManager manager, Shape shape) {
        return manager.create(randn(shape.getShape()), shape);
    }

    /**
     * Row {@code index} of {@code randn(shape)} along the first axis, e.g. the initial latents of
     * image i of an N-image batch: {@code randnSlice([N, 4, h/8, w/8], i)} gives exactly
     * {@code torch.randn((N, 4, h/8, w/8), generator=g)[i]} (shape without the first axis), and
     * leaves the generator in the state the whole draw leaves it in.
     *
     * <p>A row's values depend on where it sits in the whole tensor: torch first draws one uniform
     * per value, then Box-Muller pairs values 8 apart inside blocks of 16, and when numel % 16 != 0
     * draws the last 16 values again. Small batches (up to 262,144 values) are drawn
     * whole and cut. Larger ones draw only the blocks the row touches (and the tail redraw if the
     * row reaches it) and skip the outputs before and after, by mt19937 jump-ahead when the skip
     * is long: row 999,999 of a 1,000,000-image 512x512 batch costs milliseconds, not 16·10^9 draws.
     * Both ways give the same bits.
     */
    public synchronized float[] randnSlice(long[] shape, int index) {
        if (batchSource != null) throw new IllegalStateException("randnSlice on a batch-row view; use randn");
        if (shape.length == 0 || index < 0 || index >= shape[0]) {
            throw new IllegalArgumentException("row " + index + " of randn" + Arrays.toString(shape));
        }
        long n = numel(shape);
        if (n < 16 || n <= fullDrawMax) {
            float[] all = randn(shape);
            int row = all.length / (int) shape[0];
            return Arrays.copyOfRange(all, index * row, (index + 1) * row);
        }
        long rowLength = n / shape[0];
        if (rowLength > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("a row of randn" + Arrays.toString(shape) + " has " + rowLength
                    + " values, more than " + (Integer.MAX_VALUE - 64));
        }
        return drawRow(n, index * rowLength, (index + 1) * rowLength);
    }

    /** Values [from, to) of a float randn of n >= 16 values, drawing only the blocks they need. */
    private float[] drawRow(long n, long from, long to) {
        float[] out = new float[(int) (to - from)];
        long blocksEnd = n - n % 16;
        boolean tail = n % 16 != 0;
        long drawn = 0;   // outputs consumed since the start of the whole draw
        long lo = from - from % 16;
        long hi = Math.min(to + (16 - to % 16) % 16, blocksEnd);
        if (lo < hi) {
            skip(lo - drawn);
            float[] blocks = new float[(int) (hi - lo)];
            for (int i = 0; i < blocks.length; i++) blocks[i] = uniformFloat();
            for (int i = 0; i < blocks.length; i += 16) boxMuller16(blocks, i);
            int count = (int) (Math.min(to, hi) - from);
            System.arraycopy(blocks, (int) (from - lo), out, 0, count);
            drawn = hi;
        }
        if (tail && to > n - 16) {
            // the redrawn last 16 values replace whatever the blocks gave there
            skip(n - drawn);
            float[] last = new float[16];
            for (int i = 0; i < 16; i++) last[i] = uniformFloat();
            boxMuller16(last, 0);
            long first = Math.max(from, n - 16);
            System.arraycopy(last, (int) (first - (n - 16)), out, (int) (first - from), (int) (to - first));
            drawn = n + 16;
        }
        skip(n + (tail ? 16 : 0) - drawn);
        return out;
    }

    /** Advances the stream by {@code count} outputs, as {@code count} calls of {@link #nextUInt32()} do. */
    private void skip(long count) {
        if (count >= minPolyJump && count > N - index) {
            // the rest of the current block is computed already: take it, then jump from a block boundary
            long ahead = count - (N - index);
            index = N;
            jumps.computeIfAbsent(ahead, Mt19937Jump::ahead).apply(mt);
            return;
        }
        while (count > 0) {
            if (index >= N) twist();
            int take = (int) Math.min(count, N - index);
            index += take;
            count -= take;
        }
    }

    /**
     * Sets the row-draw thresholds ({@link #FULL_DRAW_MAX}, {@link #MIN_POLY_JUMP}), for tests
     * that compare the skipping draw with the whole draw on small batches. A batch-row view uses
     * its source's.
     */
    synchronized TorchGenerator rowDrawThresholds(long fullDrawMax, long minPolyJump) {
        if (batchSource != null) throw new IllegalStateException("thresholds of a batch-row view: set them on its source");
        this.fullDrawMax = fullDrawMax;
        this.minPolyJump = minPolyJump;
        return this;
    }

    /** Advances the stream by {@code count} outputs with one jump polynomial, for tests of the jump alone. */
    synchronized void jump(long count) {
        if (batchSource != null) throw new IllegalStateException("jump on a batch-row view");
        long saved = minPolyJump;
        minPolyJump = 0;
        try {
            skip(count);
        } finally {
            minPolyJump = saved;
        }
    }

    /** {@link #randnSlice(long[], int)} as an fp32 NDArray of shape {@code shape[1:]} on {@code manager}'s device. */
    public NDArray randnSlice(NDManager manager, Shape shape, int index) {
        float[] row = randnSlice(shape.getShape(), index);
        return manager.create(row, shape.slice(1));
    }

    // ------------------------------------------------------------------ mt19937

    private int next32() {
        if (index >= N) twist();
        int y = mt[index++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y;
    }

    private void twist() {
        for (int i = 0; i < N; i++) Mt19937Jump.step(mt, i);
        index = 0;
    }

    private long random64() {
        long hi = next32() & 0xFFFFFFFFL;
        long lo = next32() & 0xFFFFFFFFL;
        return (hi << 32) | lo;
    }

    /** uniform_real_distribution&lt;float&gt;(0, 1): 24 random bits. */
    private float uniformFloat() {
        return (next32() & 0xFFFFFF) * 0x1.0p-24f;
    }

    /** uniform_real_distribution&lt;double&gt;(0, 1): 53 random bits of random64(). */
    private double uniformDouble() {
        return (random64() & ((1L << 53) - 1)) * 0x1.0p-53;
    }

    /** normal_distribution&lt;double&gt;(0, 1) with torch's cached second sample. */
    private double normalDouble() {
        if (hasNextDoubleNormal) {
            hasNextDoubleNormal = false;
            return nextDoubleNormal;
        }
        double u1 = uniformDouble();
        double u2 = uniformDouble();
        double r = Math.sqrt(-2.0 * Math.log1p(-u2));
        double theta = 2.0 * Math.PI * u1;
        nextDoubleNormal = r * Math.sin(theta);
        hasNextDoubleNormal = true;
        return r * Math.cos(theta);
    }

    // ------------------------------------------------------------------ normal_fill (numel >= 16)

    private void fillNormal16(float[] data) {
        int n = data.length;
        for (int i = 0; i < n; i++) data[i] = uniformFloat();
        for (int i = 0; i + 16 <= n; i += 16) boxMuller16(data, i);
        if (n % 16 != 0) {
            // torch redraws the last 16 values and transforms them again.
            int start = n - 16;
            for (int i = 0; i < 16; i++) data[start + i] = uniformFloat();
            boxMuller16(data, start);
        }
    }

    private void boxMuller16(float[] d, int off) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1f - d[off + j];
            float u2 = d[off + j + 8];
            float c;
            float s;
            float radius;
            if (kernel == NormalKernel.AVX2) {
                radius = (float) Math.sqrt(-2f * log256(u1));
                float theta = TWO_PI_F * u2;
                float[] sc = sincos256(theta);
                s = sc[0];
                c = sc[1];
            } else {
                radius = (float) Math.sqrt(-2f * (float) Math.log(u1));
                float theta = (float) (2.0 * Math.PI * u2);
                c = (float) Math.cos(theta);
                s = (float) Math.sin(theta);
            }
            d[off + j] = radius * c;
            d[off + j + 8] = radius * s;
        }
    }

    // torch's avx_mathfun.h (Cephes polynomials, float), evaluated one lane at a time. GCC contracts
    // a product into the add/sub that consumes it (fp-contract=fast, -mfma): Math.fma where it does.

    private static final float TWO_PI_F = (float) (2.0 * Math.PI);

    private static float log256(float x) {
        int bits = Float.floatToRawIntBits(Math.max(x, Float.MIN_NORMAL));
        float e = (float) ((bits >>> 23) - 0x7f);
        e = e + 1f;
        float m = Float.intBitsToFloat((bits & ~0x7f800000) | Float.floatToRawIntBits(0.5f));
        boolean small = m < (float) 0.707106781186547524;
        float tmp = small ? m : 0f;
        m = m - 1f;
        if (small) e = e - 1f;
        m = m + tmp;
        float z = m * m;
        float y = 7.0376836292E-2f;
        y = Math.fma(y, m, -1.1514610310E-1f);
        y = Math.fma(y, m, 1.1676998740E-1f);
        y = Math.fma(y, m, -1.2420140846E-1f);
        y = Math.fma(y, m, +1.4249322787E-1f);
        y = Math.fma(y, m, -1.6668057665E-1f);
        y = Math.fma(y, m, +2.0000714765E-1f);
        y = Math.fma(y, m, -2.4999993993E-1f);
        y = Math.fma(y, m, +3.3333331174E-1f);
        y = y * m;
        y = Math.fma(y, z, e * -2.12194440e-4f);
        y = Math.fma(-z, 0.5f, y);
        float r = m + y;
        r = Math.fma(e, 0.693359375f, r);
        return x <= 0f ? Float.NaN : r;
    }

    /** {sin(x), cos(x)} as sincos256_ps computes them. */
    private static float[] sincos256(float x) {
        boolean signSin = x < 0f;
        x = Math.abs(x);
        float y = x * 1.27323954473516f; // 4 / pi
        int j = (int) y;
        j = (j + 1) & ~1;
        y = (float) j;
        boolean swapSin = (j & 4) != 0;
        boolean cosPolyForCos = (j & 2) == 0;
        x = Math.fma(y, -0.78515625f, x);
        x = Math.fma(y, -2.4187564849853515625e-4f, x);
        x = Math.fma(y, -3.77489497744594108e-8f, x);
        boolean signCos = ((~(j - 2)) & 4) != 0;
        signSin ^= swapSin;
        float z = x * x;
        float yc = Math.fma(2.443315711809948E-005f, z, -1.388731625493765E-003f);
        yc = Math.fma(yc, z, 4.166664568298827E-002f);
        yc = yc * z;
        yc = Math.fma(yc, z, -(z * 0.5f));
        yc = yc + 1f;
        float ys = Math.fma(-1.9515295891E-4f, z, 8.3321608736E-3f);
        ys = Math.fma(ys, z, -1.6666654611E-1f);
        ys = ys * z;
        ys = Math.fma(ys, x, x);
        float sin = cosPolyForCos ? ys : yc;
        float cos = cosPolyForCos ? yc : ys;
        return new float[] {signSin ? -sin : sin, signCos ? -cos : cos};
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }
}
