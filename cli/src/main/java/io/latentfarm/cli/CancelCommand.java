package io.latentfarm.cli;

import io.latentfarm.common.BatchIds;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.CancelRequest;
import io.latentfarm.client.BatchClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code latentfarm cancel BATCH}: sends a cancel request for the batch to the requests topic; with
 * {@code --wait}, waits for the coordinator's answer on the events topic: the batch's
 * {@code cancelled} event (exit 0), or a {@code rejected} one saying why it cannot be cancelled
 * (exit 2: no such batch, or it already completed, failed or was cancelled).
 */
@Command(name = "cancel", mixinStandardHelpOptions = true,
        description = "Cancel a running batch: its remaining images are not rendered and it never completes.")
final class CancelCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Parameters(paramLabel = "BATCH", description = "The batch id submit printed.")
    String batchId;

    @Option(names = "--reason", paramLabel = "TEXT",
            description = "Why, for the cancelled event (at most " + CancelRequest.MAX_REASON + " characters).")
    String reason;

    @Option(names = "--wait", description = "Wait for the coordinator's answer: cancelled, or why it cannot be.")
    boolean await;

    @Option(names = "--timeout", defaultValue = "PT2M",
            description = "How long --wait waits, ISO-8601 (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        BatchIds.requireValid(batchId);
        if (reason != null && reason.length() > CancelRequest.MAX_REASON) {
            throw new IllegalArgumentException("--reason is " + reason.length() + " characters long; at most "
                    + CancelRequest.MAX_REASON);
        }
        try (BatchClient client = kafka.client();
             BatchClient.Events events = await ? client.events(batchId, false) : null) {
            client.cancel(batchId, reason);
            out.println("cancel of batch " + batchId + " sent to " + kafka.topics().requests() + " on "
                    + kafka.bootstrap());
            if (!await) {
                out.println("see the answer: latentfarm status " + batchId);
                out.flush();
                return 0;
            }
            out.flush();
            Optional<BatchEvent> answer = awaitAnswer(events);
            if (answer.isEmpty()) {
                err.println("latentfarm: no answer to the cancel of batch " + batchId + " within "
                        + BatchWatch.human(timeout) + " (is a coordinator running?)");
                err.flush();
                return BatchWatch.EXIT_TIMEOUT;
            }
            BatchEvent e = answer.get();
            if (e.type() == BatchEvent.Type.CANCELLED) {
                out.println("cancelled: batch " + batchId + " (" + e.reason() + ")");
                out.flush();
                return 0;
            }
            err.println("latentfarm: cannot cancel batch " + batchId + ": " + e.reason());
            err.flush();
            return BatchWatch.EXIT_REJECTED;
        }
    }

    /** The batch's cancelled event, or the rejection of the cancel; others (a completion that came first) pass. */
    private Optional<BatchEvent> awaitAnswer(BatchClient.Events events) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (BatchEvent e : events.poll(Duration.ofMillis(200))) {
                if (e.type() == BatchEvent.Type.CANCELLED || e.type() == BatchEvent.Type.REJECTED) {
                    return Optional.of(e);
                }
            }
        }
        return Optional.empty();
    }
}
