package io.latentfarm.cli;

import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.client.BatchClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code latentfarm status BATCH}: where a batch stands, from its events on the events topic. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show a batch's state from its events: accepted, images done, completed (with object keys), "
                + "rejected, failed or cancelled.")
final class StatusCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Parameters(paramLabel = "BATCH", description = "The batch id submit printed.")
    String batchId;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<BatchEvent> events;
        try (BatchClient client = kafka.client();
             BatchClient.Events reader = client.events(batchId, true)) {
            events = reader.readToEnd();
        }
        if (events.isEmpty()) {
            err.println("latentfarm: no events for batch " + batchId + " on " + kafka.topics().events()
                    + " (not submitted, not yet seen by a coordinator, or another topic prefix)");
            err.flush();
            return 1;
        }
        BatchEvent first = events.get(0);
        if (first.type() == BatchEvent.Type.ACCEPTED && first.request() != null) {
            out.println("batch " + batchId + ": " + first.total() + " image(s), seed " + first.request().seed()
                    + ", " + first.request().steps() + " steps, " + first.request().width() + "x"
                    + first.request().height());
        }
        Optional<BatchEvent> outcome = outcome(events);
        if (outcome.isPresent()) {
            return BatchWatch.report(batchId, outcome, Duration.ZERO, out, err);
        }
        BatchEvent latest = events.get(events.size() - 1);
        int done = events.stream().filter(e -> e.type() == BatchEvent.Type.PROGRESS && e.jobId() == null && e.done() != null)
                .mapToInt(BatchEvent::done).max().orElse(0);
        int total = latest.total() != null ? latest.total() : first.total() != null ? first.total() : 0;
        out.println("running: " + done + "/" + total + " image(s) done"
                + (latest.jobId() != null && latest.step() != null
                ? "; " + latest.jobId() + " at step " + latest.step() + "/" + latest.steps() : ""));
        out.flush();
        return 0;
    }

    /**
     * How the batch ended: its first completed, failed or cancelled event. A {@code rejected} event
     * is the outcome only of a batch never accepted: one after that refused a later request with
     * the same id (another batch under this id, or a cancel of a batch already over).
     */
    static Optional<BatchEvent> outcome(List<BatchEvent> events) {
        Optional<BatchEvent> ended = events.stream()
                .filter(e -> e.type().isFinal() && e.type() != BatchEvent.Type.REJECTED).findFirst();
        if (ended.isPresent() || events.stream().anyMatch(e -> e.type() == BatchEvent.Type.ACCEPTED)) {
            return ended;
        }
        return events.stream().filter(e -> e.type() == BatchEvent.Type.REJECTED).reduce((a, b) -> b);
    }
}
