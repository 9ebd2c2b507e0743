package io.latentfarm.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Runs the CLI in-process with captured output, and finds the repository's test fixtures. */
final class CliTestSupport {
    private CliTestSupport() {
    }

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    static Path fixtures() {
        String p = System.getProperty("latentfarm.fixtures");
        if (p != null && Files.isDirectory(Paths.get(p, "tiny-sd-v1"))) return Paths.get(p);
        for (Path d = Paths.get("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isDirectory(d.resolve("fixtures/tiny-sd-v1"))) return d.resolve("fixtures");
        }
        throw new IllegalStateException("fixtures/tiny-sd-v1 not found");
    }

    static Path tinyModel() {
        return fixtures().resolve("tiny-sd-v1");
    }
}
