package io.latentfarm.model.random;

/**
 * Jump-ahead for mt19937: the state {@code J} outputs later in O(19937^2 / 64) word operations
 * instead of {@code J} steps (the method of Haramoto, Matsumoto, Nishimura, Panneton and
 * L'Ecuyer, "Efficient jump ahead for F2-linear random number generators", 2008).
 *
 * <p>One mt19937 step is a linear map A over GF(2) on the 624-word window. Its minimal polynomial
 * is x·P(x), P the generator's degree-19937 characteristic polynomial (the factor x: a step drops
 * the low 31 bits of the oldest word). So after one real step, A^(J-1) equals h(A) with
 * h = x^(J-1) mod P, and h(A)·s is a Horner sum of at most 19937 steps and state additions.
 * P itself comes from Berlekamp-Massey on 2·19937 output bits, once per JVM (tens of milliseconds).
 *
 * <p>An instance is the polynomial h for one jump length: computing it costs some 35 squarings
 * modulo P; applying it to a state is the cheaper part, so a caller that jumps the same distance
 * repeatedly (a batch-row view drawing each step's noise) keeps the instance.
 */
final class Mt19937Jump {

    static final int N = 624;
    private static final int M = 397;
    private static final int UPPER = 0x80000000;
    private static final int LOWER = 0x7fffffff;
    private static final int MATRIX_A = 0x9908b0df;
    /** Degree of mt19937's characteristic polynomial: the period is 2^19937 - 1. */
    static final int DEGREE = 19937;
    /** Words of a polynomial of degree <= DEGREE. */
    private static final int WORDS = DEGREE / 64 + 1;

    private final long outputs;
    /** x^(outputs - 1) mod P, bit k = coefficient of x^k. */
    private final long[] h;

    private Mt19937Jump(long outputs, long[] h) {
        this.outputs = outputs;
        this.h = h;
    }

    /** The jump over {@code outputs} >= 1 outputs of the generator. */
    static Mt19937Jump ahead(long outputs) {
        if (outputs < 1) throw new IllegalArgumentException("jump of " + outputs + " outputs");
        return new Mt19937Jump(outputs, xPowModP(outputs - 1));
    }

    long outputs() {
        return outputs;
    }

    /**
     * Advances the window {@code mt} (the 624 words from which the next output is made by a fresh
     * twist, i.e. TorchGenerator's state with its index at 624) by {@link #outputs()} outputs, in place.
     * Afterwards {@code mt} is again such a window.
     */
    void apply(int[] mt) {
        int[] s = mt.clone();
        step(s, 0);                    // s = A·mt: now inside the subspace where P(A) vanishes
        int ps = 1;
        // s twice over, so that adding s to r at any rotation is two straight loops
        int[] s2 = new int[2 * N];
        for (int i = 0; i < N; i++) {
            s2[i] = s[(ps + i) % N];
            s2[N + i] = s2[i];
        }
        int[] r = new int[N];
        int pr = 0;
        int top = highestBit(h);
        for (int k = top; k >= 0; k--) {
            step(r, pr);
            if (++pr == N) pr = 0;
            if ((h[k >>> 6] & (1L << (k & 63))) != 0) {
                // r's logical word i is r[(pr + i) % N]
                int first = N - pr;
                for (int i = 0; i < first; i++) r[pr + i] ^= s2[i];
                for (int i = 0; i < pr; i++) r[i] ^= s2[first + i];
            }
        }
        for (int i = 0; i < N; i++) mt[i] = r[(pr + i) % N];
    }

    /**
     * One mt19937 step on a circular window whose oldest word is at {@code p}: that word becomes
     * the newest. A twist is this step at p = 0..623 in turn.
     */
    static void step(int[] w, int p) {
        int y = (w[p] & UPPER) | (w[p + 1 == N ? 0 : p + 1] & LOWER);
        int q = p + M;
        int v = w[q >= N ? q - N : q] ^ (y >>> 1);
        if ((y & 1) != 0) v ^= MATRIX_A;
        w[p] = v;
    }

    // ------------------------------------------------------------------ polynomials over GF(2)

    /** P and its 64 shifts (P << s, one word longer), for reduction without bit shifting. */
    private static final class CharPoly {
        static final long[] P = characteristicPolynomial();
        static final long[][] SHIFTED = shifts(P);

        private static long[][] shifts(long[] p) {
            long[][] out = new long[64][WORDS + 1];
            for (int s = 0; s < 64; s++) {
                for (int w = 0; w < WORDS; w++) {
                    out[s][w] |= p[w] << s;
                    if (s != 0) out[s][w + 1] |= p[w] >>> (64 - s);
                }
            }
            return out;
        }
    }

    /** mt19937's characteristic polynomial P (bit k = coefficient of x^k), degree 19937. */
    static long[] characteristicPolynomial() {
        // Any nonzero output bit sequence has minimal polynomial P (P is irreducible). 2·DEGREE
        // bits determine a recurrence of order DEGREE.
        int n = 2 * DEGREE;
        TorchGenerator g = new TorchGenerator(5489);
        long[] rev = new long[n / 64 + 4];   // rev bit j = s[n - 1 - j], zero padded
        for (int t = 0; t < n; t++) {
            if ((g.nextUInt32() & 1) != 0) {
                int j = n - 1 - t;
                rev[j >>> 6] |= 1L << (j & 63);
            }
        }
        // Berlekamp-Massey: the shortest C (C_0 = 1) with sum_{i<=L} C_i s_{t-i} = 0 for all t >= L.
        int words = n / 64 + 4;
        long[] c = new long[words];
        long[] b = new long[words];
        long[] tmp = new long[words];
        c[0] = 1;
        b[0] = 1;
        int l = 0;
        int lb = 0;   // degree bound of b
        int m = 1;
        for (int t = 0; t < n; t++) {
            int off = n - 1 - t;
            long acc = 0;
            for (int w = 0, last = l >>> 6; w <= last; w++) acc ^= c[w] & bits64(rev, off + (w << 6));
            if (Long.bitCount(acc) % 2 == 0) {
                m++;
            } else if (2 * l <= t) {
                System.arraycopy(c, 0, tmp, 0, words);
                int oldL = l;
                xorShifted(c, b, lb, m);
                l = t + 1 - l;
                long[] swap = b;
                b = tmp;
                tmp = swap;
                lb = oldL;
                m = 1;
            } else {
                xorShifted(c, b, lb, m);
                m++;
            }
        }
        if (l != DEGREE) throw new IllegalStateException("mt19937 recurrence of order " + l + ", expected " + DEGREE);
        // P(x) = x^L C(1/x)
        long[] p = new long[WORDS];
        for (int i = 0; i <= l; i++) {
            if ((c[i >>> 6] & (1L << (i & 63))) != 0) {
                int k = l - i;
                p[k >>> 6] |= 1L << (k & 63);
            }
        }
        return p;
    }

    /** 64 bits of {@code a} from bit {@code pos}. */
    private static long bits64(long[] a, int pos) {
        int w = pos >>> 6;
        int s = pos & 63;
        return s == 0 ? a[w] : (a[w] >>> s) | (a[w + 1] << (64 - s));
    }

    /** c ^= b << m, b of degree <= degB. */
    private static void xorShifted(long[] c, long[] b, int degB, int m) {
        int off = m >>> 6;
        int s = m & 63;
        for (int w = 0, last = degB >>> 6; w <= last; w++) {
            long v = b[w];
            c[w + off] ^= v << s;
            if (s != 0) c[w + off + 1] ^= v >>> (64 - s);
        }
    }

    /** x^e mod P. */
    static long[] xPowModP(long e) {
        long[] g = new long[WORDS];
        g[0] = 1;
        for (int bit = 63 - Long.numberOfLeadingZeros(e); bit >= 0; bit--) {
            g = squareModP(g);
            if (((e >>> bit) & 1) != 0) timesXModP(g);
        }
        return g;
    }

    private static long[] squareModP(long[] g) {
        long[] sq = new long[2 * WORDS + 1];
        for (int w = 0; w < WORDS; w++) {
            sq[2 * w] = spread(g[w]);
            sq[2 * w + 1] = spread(g[w] >>> 32);
        }
        long[][] shifted = CharPoly.SHIFTED;
        for (int w = sq.length - 1; w >= DEGREE >>> 6; w--) {
            while (sq[w] != 0) {
                int b = (w << 6) + 63 - Long.numberOfLeadingZeros(sq[w]);
                if (b < DEGREE) break;
                int shift = b - DEGREE;
                long[] ps = shifted[shift & 63];
                int off = shift >>> 6;
                // words of P << shift above b's word are zero: stop at the array's end
                int len = Math.min(ps.length, sq.length - off);
                for (int k = 0; k < len; k++) sq[off + k] ^= ps[k];
            }
        }
        long[] out = new long[WORDS];
        System.arraycopy(sq, 0, out, 0, WORDS);
        return out;
    }

    private static void timesXModP(long[] g) {
        for (int w = WORDS - 1; w > 0; w--) g[w] = (g[w] << 1) | (g[w - 1] >>> 63);
        g[0] <<= 1;
        if ((g[DEGREE >>> 6] & (1L << (DEGREE & 63))) != 0) {
            long[] p = CharPoly.P;
            for (int w = 0; w < WORDS; w++) g[w] ^= p[w];
        }
    }

    /** The low 32 bits of {@code x} spread to the even bit positions: squaring over GF(2). */
    private static long spread(long x) {
        x &= 0xFFFFFFFFL;
        x = (x | (x << 16)) & 0x0000FFFF0000FFFFL;
        x = (x | (x << 8)) & 0x00FF00FF00FF00FFL;
        x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FL;
        x = (x | (x << 2)) & 0x3333333333333333L;
        x = (x | (x << 1)) & 0x5555555555555555L;
        return x;
    }

    private static int highestBit(long[] a) {
        for (int w = a.length - 1; w >= 0; w--) {
            if (a[w] != 0) return (w << 6) + 63 - Long.numberOfLeadingZeros(a[w]);
        }
        return -1;
    }
}
