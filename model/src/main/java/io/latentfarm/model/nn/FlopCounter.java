package io.latentfarm.model.nn;

/**
 * Counts the floating-point operations of the dense layers (conv, linear, attention matmuls) run
 * on the current thread while counting is on; the bench divides them by wall time. Off by default,
 * and then a thread-local read per layer call is all it costs.
 */
public final class FlopCounter {
    private static final ThreadLocal<long[]> COUNT = new ThreadLocal<>();

    private FlopCounter() {
    }

    public static void start() {
        COUNT.set(new long[1]);
    }

    /** Stops counting and returns the FLOPs counted since {@link #start()}. */
    public static long stop() {
        long[] c = COUNT.get();
        COUNT.remove();
        return c == null ? 0 : c[0];
    }

    static boolean active() {
        return COUNT.get() != null;
    }

    static void add(long flops) {
        long[] c = COUNT.get();
        if (c != null) c[0] += flops;
    }
}
