package io.latentfarm.cli;

import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;

/** Runs a started server until the process is asked to stop (SIGTERM, Ctrl-C), then closes it before the JVM exits. */
final class ForegroundService {
    private ForegroundService() {
    }

    static int serve(PrintWriter out, AutoCloseable server, String readyLine) throws InterruptedException {
        CountDownLatch closed = new CountDownLatch(1);
        // The JVM exits once its shutdown hooks return: this one returns only after the server has stopped.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
                out.println("stopped");
                out.flush();
            } catch (Exception e) {
                System.err.println("latentfarm: while stopping: " + e.getMessage());
            } finally {
                closed.countDown();
            }
        }, "stop"));
        out.println(readyLine);
        out.flush();
        closed.await(); // the JVM is already exiting when this returns
        return 0;
    }
}
