package io.latentfarm.service;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CountDownLatch;

/** Keeps a started role in the foreground until its context stops (SIGTERM runs Micronaut's shutdown hook). */
final class RoleProcess {
    private static final Logger LOG = LoggerFactory.getLogger(RoleProcess.class);

    private RoleProcess() {
    }

    /**
     * @param context the started role, or null when it failed to start (Micronaut has logged why)
     * @return the process's exit code
     */
    static int runUntilStopped(ApplicationContext context, String role) throws InterruptedException {
        if (context == null) {
            return 1;
        }
        int port = context.findBean(EmbeddedServer.class).map(EmbeddedServer::getPort).orElse(-1);
        // The role test and operators look for this line; it names the HTTP port chosen.
        LOG.info("latentfarm {} ready, health on port {}", role, port);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread watcher = new Thread(() -> {
            while (context.isRunning()) {
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
            stopped.countDown();
        }, role + "-watch");
        watcher.setDaemon(true);
        watcher.start();
        stopped.await();
        return 0;
    }
}
