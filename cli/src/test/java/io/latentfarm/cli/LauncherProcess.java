package io.latentfarm.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One child process started through the repository's launcher ({@code ./latentfarm ARGS}, what a
 * user and the images run), its output in a log file of its own. The launcher execs Java, so the
 * process is the JVM: {@link #kill()} is a kill -9 of the service itself.
 */
final class LauncherProcess implements AutoCloseable {
    private static final Pattern HEALTH_PORT = Pattern.compile("ready, health on port (\\d+)");

    private final String name;
    private final Path log;
    private final Process process;

    private LauncherProcess(String name, Path log, Process process) {
        this.name = name;
        this.log = log;
        this.process = process;
    }

    /** The checkout the tests run in (the launcher is {@code <root>/latentfarm}). */
    static Path root() {
        String p = System.getProperty("latentfarm.root");
        if (p != null) {
            return Path.of(p);
        }
        return CliTestSupport.fixtures().getParent();
    }

    /** Starts {@code ./latentfarm args} with the test's environment plus {@code env}; output goes to {@code logDir/name.log}. */
    static LauncherProcess start(String name, Path logDir, Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>();
        command.add(root().resolve("latentfarm").toString());
        command.addAll(List.of(args));
        Path log = logDir.resolve(name + ".log");
        try {
            Files.createDirectories(logDir);
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            pb.environment().putAll(env);
            return new LauncherProcess(name, log, pb.start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String output() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Waits until the output, from character {@code from} on, has a match of {@code pattern}; fails
     * when the process exits or the time is up, quoting the output's tail.
     */
    Matcher await(Pattern pattern, int from, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String out = output();
            Matcher m = pattern.matcher(out);
            if (out.length() > from && m.find(from)) {
                return m;
            }
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited with " + process.exitValue() + " before printing " + pattern
                        + "; output:\n" + tail(out));
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(name + " did not print " + pattern + " in " + timeout.toSeconds() + " s; output:\n"
                        + tail(out));
            }
            Thread.sleep(100);
        }
    }

    Matcher await(Pattern pattern, Duration timeout) throws InterruptedException {
        return await(pattern, 0, timeout);
    }

    /** The HTTP port a role prints once it is ready ({@code ready, health on port P}), from output position {@code from}. */
    int awaitHealthPort(int from, Duration timeout) throws InterruptedException {
        return Integer.parseInt(await(HEALTH_PORT, from, timeout).group(1));
    }

    /** kill -9: no shutdown hook, no clean close. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM, then waits for the process to exit; returns its exit code. */
    int stop(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
            throw new AssertionError(name + " did not stop within " + timeout.toSeconds() + " s of SIGTERM");
        }
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    static String tail(String s) {
        return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    }
}
