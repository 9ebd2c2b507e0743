package io.latentfarm.cli;

import picocli.CommandLine;

/**
 * Turns an exception escaping a command into one line on stderr and exit code 1: a user sees
 * {@code latentfarm: <what went wrong>}, not a stack trace. {@code LATENTFARM_DEBUG=1} prints the trace.
 */
final class CliErrors implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parseResult) {
        String msg = ex.getMessage() != null ? ex.getMessage() : ex.getClass().getSimpleName();
        cmd.getErr().println("latentfarm: " + msg);
        if (System.getenv("LATENTFARM_DEBUG") != null) {
            ex.printStackTrace(cmd.getErr());
        }
        return 1;
    }
}
