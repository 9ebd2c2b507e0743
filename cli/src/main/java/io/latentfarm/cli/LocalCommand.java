package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.BatchIds;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.BatchClient;
import io.latentfarm.embedded.EmbeddedKafka;
import io.latentfarm.embedded.EmbeddedS3;
import io.latentfarm.model.pipeline.RandomModel;
import io.latentfarm.worker.service.ImageRenderer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

/**
 * {@code latentfarm local}: the whole system in this process ({@link LocalStack}: a real Kafka broker
 * and S3 server, the coordinator with its web page, and a worker); submits one batch over Kafka like
 * any client, waits for it, copies its images, grid and manifest to {@code --out}, and stops, or
 * with {@code --serve} keeps running and prints the addresses.
 */
@Command(name = "local", mixinStandardHelpOptions = true,
        description = "Run broker, S3 server, coordinator and worker in this process, render one batch, write it to --out.")
final class LocalCommand implements Callable<Integer> {
    static final String TINY = "tiny";

    @Spec
    CommandSpec spec;

    @Mixin
    RequestOptions request;

    /** --model (default 'tiny': a random-weight tiny model, noise images), --revision, --config, --cache. */
    @Mixin
    ModelOptions model;

    @Option(names = "--variant", description = "Weights variant, e.g. fp16.")
    String variant;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where to write 0000.png ..., grid.png, manifest.json.")
    Path out;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Folder for the broker's and S3 server's data (default: a temporary folder, deleted at the end).")
    Path data;

    @Option(names = "--serve", description = "After the batch, keep everything running until interrupted and print how to reach it.")
    boolean serve;

    @Option(names = "--port", defaultValue = "0", paramLabel = "PORT",
            description = "The web page's port on 127.0.0.1 (default: any free port).")
    int port;

    @Option(names = "--renderer", defaultValue = "pipeline", paramLabel = "pipeline|synthetic",
            description = "pipeline (default): Stable Diffusion on --model. synthetic: no model; each image sleeps"
                    + " --synthetic-render-ms and is an 8x8 PNG derived from its seed, slice and prompt (measures latentfarm itself).")
    String renderer;

    @Option(names = "--synthetic-render-ms", defaultValue = "0", paramLabel = "MS",
            description = "With --renderer synthetic: milliseconds each image takes (default ${DEFAULT-VALUE}).")
    long syntheticRenderMs;

    @Option(names = "--timeout", defaultValue = "PT2H", description = "Longest wait for the batch, ISO-8601 (default ${DEFAULT-VALUE}).")
    Duration timeout;

    // Counted down once everything is stopped, so a Ctrl-C under --serve waits for a clean stop.
    private final CountDownLatch stopped = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        // The broker's own clients warn about ordinary shutdown races; a user only needs errors.
        if (System.getProperty("org.slf4j.simpleLogger.log.org.apache.kafka") == null) {
            System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka", "error");
        }
        RenderRequest req = request.toRequest(null);
        if (req.batchId() == null) {
            req = req.withBatchId(BatchIds.newId());
        }
        compute.resolve(variant); // a bad --device or --dtype is a one-line error before anything starts
        boolean synthetic = switch (renderer) {
            case "pipeline" -> false;
            case "synthetic" -> true;
            default -> throw new IllegalArgumentException("--renderer: \"" + renderer + "\" is not one of pipeline, synthetic");
        };
        if (syntheticRenderMs < 0) {
            throw new IllegalArgumentException("--synthetic-render-ms: " + syntheticRenderMs + " is below 0");
        }
        boolean temporary = data == null;
        Path dataDir = temporary ? Files.createTempDirectory("latentfarm-local") : data.toAbsolutePath();
        Deque<AutoCloseable> running = new ArrayDeque<>();
        long t0 = System.nanoTime();
        try {
            Map<String, Object> worker;
            if (synthetic) {
                worker = LocalStack.syntheticWorker(syntheticRenderMs);
                stdout.println("model: none (--renderer synthetic): each image is an 8x8 stand-in drawn in "
                        + syntheticRenderMs + " ms");
            } else if (model.model == null || TINY.equals(model.model)) {
                Path modelDir = dataDir.resolve("model-tiny");
                RandomModel.writeTiny(modelDir, 0);
                worker = LocalStack.pipelineWorker(ModelOptions.of(modelDir), compute, variant);
                stdout.println("model: a tiny model with RANDOM weights (--model tiny): its images are noise, not pictures;"
                        + " give --model with a Stable Diffusion v1 folder, repo id or checkpoint for real images");
            } else {
                model.resolve().close(); // a missing or unsupported model is a one-line error before anything starts
                worker = LocalStack.pipelineWorker(model, compute, variant);
                stdout.println("model: " + model.model);
            }
            stdout.println("starting a Kafka broker, an S3 server, the coordinator and a worker (data in " + dataDir
                    + ") ...");
            stdout.flush();
            LocalStack stack = push(running, new LocalStack(dataDir, worker, 1, port));
            EmbeddedKafka kafka = stack.kafka();
            EmbeddedS3 s3 = stack.s3();
            ObjectStore store = stack.store();
            ImageRenderer renderer = stack.awaitModel(timeout);
            Topics topics = Topics.defaults();
            stdout.println("ready in " + seconds(System.nanoTime() - t0) + " (broker, S3 server, coordinator, worker on "
                    + renderer.device() + ")");
            stdout.flush();

            int code;
            long submitted;
            long finished;
            try (BatchClient client = new BatchClient(kafka.bootstrapServers(), topics);
                 BatchClient.Events events = client.events(req.batchId(), false)) {
                req = request.withPromptsFile(req, store, ObjectKeys.root());
                submitted = System.nanoTime();
                client.submit(req);
                stdout.println("batch " + req.batchId() + " submitted (" + BatchWatch.images(req) + ")");
                stdout.flush();
                Optional<BatchEvent> last = BatchWatch.await(events, timeout, stdout);
                finished = System.nanoTime();
                code = BatchWatch.report(req.batchId(), last, timeout, stdout, err);
            }
            if (code == 0) {
                ObjectKeys keys = ObjectKeys.root();
                List<Path> files = BatchWatch.download(store, keys, req.batchId(), out);
                stdout.println("wrote " + files.size() + " file(s) to " + out + " ("
                        + files.stream().map(p -> p.getFileName().toString()).sorted().reduce((a, b) -> a + ", " + b).orElse("")
                        + ")");
                JsonNode manifest = Json.newMapper().readTree(store.get(keys.manifest(req.batchId())));
                stdout.println("end-to-end: " + seconds(finished - submitted) + " (submit to completed event); rendering: "
                        + manifest.path("renderMs").asLong() / 1000.0 + " s (the images' render times, summed)");
            }
            stdout.flush();
            if (serve) {
                serve(stdout, stack, topics);
            }
            return code;
        } finally {
            while (!running.isEmpty()) {
                try {
                    running.pop().close();
                } catch (Exception e) {
                    err.println("latentfarm: while stopping: " + e.getMessage());
                }
            }
            if (temporary) {
                deleteQuietly(dataDir);
            }
            err.flush();
            stopped.countDown();
        }
    }

    private void serve(PrintWriter out, LocalStack stack, Topics topics) {
        EmbeddedKafka kafka = stack.kafka();
        EmbeddedS3 s3 = stack.s3();
        out.println();
        out.println("serving until interrupted (Ctrl-C):");
        out.println("  web:             " + stack.web());
        out.println("  metrics:         " + stack.web().resolve("/prometheus"));
        out.println("  Kafka bootstrap: " + kafka.bootstrapServers());
        out.println("  topics:          " + String.join(", ", topics.all()));
        out.println("  S3 endpoint:     " + s3.endpoint() + " (path-style, region us-east-1)");
        out.println("  bucket:          " + s3.bucket());
        out.println("  credentials:     AWS_ACCESS_KEY_ID=" + s3.accessKey() + " AWS_SECRET_ACCESS_KEY=" + s3.secretKey());
        out.flush();
        CountDownLatch interrupted = new CountDownLatch(1);
        Thread main = Thread.currentThread();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            interrupted.countDown();
            main.interrupt();
            try {
                stopped.await(60, java.util.concurrent.TimeUnit.SECONDS); // the finally block stops everything
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        try {
            interrupted.await();
        } catch (InterruptedException e) {
            // Ctrl-C: stop
        }
        out.println("stopping ...");
        out.flush();
    }

    private static <T extends AutoCloseable> T push(Deque<AutoCloseable> running, T resource) {
        running.push(resource);
        return resource;
    }

    private static String seconds(long nanos) {
        return String.format("%.1f s", nanos / 1e9);
    }

    static void deleteQuietly(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort
                }
            });
        } catch (IOException e) {
            // best effort
        }
    }
}
