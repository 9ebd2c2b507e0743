package io.latentfarm.cli;

import java.io.IOException;
import java.io.OutputStream;

/** Writes to two streams: the console, and a copy a test reads back (e.g. to grep logs for secrets). */
final class TeeStream extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    TeeStream(OutputStream a, OutputStream b) {
        this.a = a;
        this.b = b;
    }

    @Override
    public synchronized void write(int x) throws IOException {
        a.write(x);
        b.write(x);
    }

    @Override
    public synchronized void write(byte[] buf, int off, int len) throws IOException {
        a.write(buf, off, len);
        b.write(buf, off, len);
    }

    @Override
    public void flush() throws IOException {
        a.flush();
        b.flush();
    }
}
