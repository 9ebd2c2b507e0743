package io.latentfarm.cli;

import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.BatchClient;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code latentfarm submit}: sends a render request to the requests topic and prints the batch id;
 * with {@code --wait}, follows the batch's events with a progress bar until it completes, and with
 * {@code --download DIR} fetches its images, grid and manifest.
 */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = "Send a render batch to a latentfarm cluster over Kafka.")
final class SubmitCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Mixin
    RequestOptions request;

    @Mixin
    S3Options s3;

    @Option(names = "--model", description = "Model id to ask for (default: whatever the workers serve).")
    String model;

    @Option(names = "--wait", description = "Wait for the batch to finish, with a progress bar over its images.")
    boolean await;

    @Option(names = "--download", paramLabel = "DIR",
            description = "With --wait: then fetch images, grid.png and manifest.json into DIR (needs the S3 options).")
    Path download;

    @Option(names = "--timeout", defaultValue = "PT30M",
            description = "How long --wait waits, ISO-8601 (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (download != null && !await) {
            await = true;
        }
        RenderRequest req = request.toRequest(model);
        try (BatchClient client = kafka.client()) {
            if (req.batchId() == null) {
                req = req.withBatchId(io.latentfarm.common.BatchIds.newId());
            }
            if (request.promptsFile != null) {
                try (ObjectStore store = ObjectStore.open(s3.config())) {
                    req = request.withPromptsFile(req, store, s3.keys());
                }
                out.println("prompts: " + request.promptsFile + " uploaded as " + req.promptsUri());
            }
            BatchClient.Events events = await ? client.events(req.batchId(), false) : null;
            try {
                client.submit(req);
                out.println("batch " + req.batchId() + " submitted (" + BatchWatch.images(req) + ") to "
                        + kafka.topics().requests() + " on " + kafka.bootstrap());
                if (!await) {
                    out.println("follow it: latentfarm status " + req.batchId() + "   (events: "
                            + kafka.topics().events() + ", key " + req.batchId() + ")");
                    out.flush();
                    return 0;
                }
                out.flush();
                long start = System.nanoTime();
                Optional<BatchEvent> last = BatchWatch.await(events, timeout, out);
                int code = BatchWatch.report(req.batchId(), last, timeout, out, err);
                if (code == 0) {
                    out.println("  took " + BatchWatch.human(Duration.ofNanos(System.nanoTime() - start)));
                }
                if (code == 0 && download != null) {
                    try (ObjectStore store = ObjectStore.open(s3.config())) {
                        List<Path> files = BatchWatch.download(store, s3.keys(), req.batchId(), download);
                        out.println("downloaded " + files.size() + " file(s) to " + download);
                    }
                }
                out.flush();
                return code;
            } finally {
                if (events != null) {
                    events.close();
                }
            }
        }
    }
}
