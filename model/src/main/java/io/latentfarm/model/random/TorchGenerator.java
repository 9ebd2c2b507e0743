package io.latentfarm.model.random;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.Arrays;

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
 * <p>Not thread-safe to share, and needs no sharing: every job owns its generator, there is no
 * global state (two jobs in two threads never disturb each other). Methods are synchronized anyway,
 * like torch's generator mutex.
 */
public final class TorchGenerator {

    /** Which of torch's CPU Box-Muller kernels (for float tensors with numel >= 16) to reproduce. */
    public enum NormalKernel { AVX2, DEFAULT }

    private static final int N = 624;
    private static final int M = 397;

    private final long seed;
    private final NormalKernel kernel;
    /** For a batch-row view: the generator that draws the whole batch, and which row this view returns. */
    private final TorchGenerator batchSource;
    private final int batchSize;
    private final int batchRow;
    private final int[] mt = new int[N];
    private int index;
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
     * {@code randn(shape)} with {@code shape[0] == 1} draws {@code randn([batchSize, shape[1:]...])}
     * from this generator (so its state advances exactly as diffusers' does for the whole batch)
     * and returns row {@code row}. Use it for the initial latents and pass it to the scheduler,
     * whose step noise is drawn with the sample's shape (diffusers draws it for the whole batch).
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
     * Rows {@code index} of {@code randn(shape)} along the first axis, e.g. the initial latents of
     * image i of an N-image batch: {@code randnSlice([N, 4, h/8, w/8], i)} gives exactly
     * {@code torch.randn((N, 4, h/8, w/8), generator=g)[i]} (shape without the first axis).
     *
     * <p>It draws the whole batch: Box-Muller pairs values 8 apart inside blocks of 16 and the tail
     * block is redrawn, so a row's values depend on where the row sits in the whole tensor; and the
     * generator must end in the same state as after the full draw. That is cheap: a 16-image SD batch
     * at 512x512 is 262,144 values, a few milliseconds.
     */
    public float[] randnSlice(long[] shape, int index) {
        if (batchSource != null) throw new IllegalStateException("randnSlice on a batch-row view; use randn");
        if (shape.length == 0 || index < 0 || index >= shape[0]) {
            throw new IllegalArgumentException("row " + index + " of randn" + Arrays.toString(shape));
        }
        float[] all = randn(shape);
        int row = all.length / (int) shape[0];
        return Arrays.copyOfRange(all, index * row, (index + 1) * row);
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
        for (int i = 0; i < N; i++) {
            int y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
            int v = mt[(i + M) % N] ^ (y >>> 1);
            if ((y & 1) != 0) v ^= 0x9908b0df;
            mt[i] = v;
        }
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
