package io.latentfarm.cli;

import java.io.PrintStream;

/**
 * A one-line progress bar on stderr, redrawn in place; silent when stderr is not a terminal so
 * scripts and logs get clean output.
 */
final class ProgressBar implements AutoCloseable {
    private static final int WIDTH = 30;
    private final String label;
    private final PrintStream err;
    private final boolean enabled;
    private boolean drawn;

    private ProgressBar(String label, PrintStream err, boolean enabled) {
        this.label = label;
        this.err = err;
        this.enabled = enabled;
    }

    static ProgressBar forTerminal(String label) {
        return new ProgressBar(label, System.err, System.console() != null);
    }

    synchronized void update(int done, int total) {
        if (!enabled || total <= 0) return;
        int filled = (int) ((long) WIDTH * done / total);
        err.print("\r" + label + " [" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] " + done + "/" + total);
        err.flush();
        drawn = true;
    }

    /** The same bar for a download: done and total in bytes, shown in MB. */
    synchronized void updateBytes(long done, long total) {
        if (!enabled || total <= 0) return;
        int filled = (int) (WIDTH * done / total);
        err.printf("\r%s [%s%s] %.1f/%.1f MB", label, "#".repeat(filled), " ".repeat(WIDTH - filled), done / 1e6, total / 1e6);
        err.flush();
        drawn = true;
    }

    @Override
    public synchronized void close() {
        if (drawn) {
            err.println();
        }
    }
}
