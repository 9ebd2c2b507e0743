package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.latentfarm.common.BatchIds;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.MessageDecodeException;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.BatchClient;
import io.latentfarm.coordinator.CoordinatorSettings;
import io.latentfarm.embedded.EmbeddedKafka;
import io.latentfarm.worker.service.WorkerSettings;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code latentfarm bench cluster}: the whole farm in this process ({@link LocalStack}: the embedded
 * broker and S3 server, the coordinator, K workers with the synthetic renderer) runs B batches of N
 * images in all, submitted on the requests topic like any client's, and says how fast, at what cost
 * per image beyond the renders themselves, and whether anything was lost or completed twice.
 */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = {"Batches of synthetic images through the embedded broker, S3 server, coordinator and K workers:"
                + " throughput, overhead per image, lost images, duplicate completions, heap peak.",
                "Last line: bench cluster: N images in S s, R images/s, overhead O ms/image, lost L,"
                        + " duplicate completions D, coordinator heap peak H MiB"})
final class BenchCluster implements Callable<Integer> {
    private static final Duration GROUP_WAIT = Duration.ofMinutes(2);

    @Spec
    CommandSpec spec;

    @Option(names = "--images", required = true, paramLabel = "N", description = "Images in all batches together.")
    int images;

    @Option(names = "--workers", defaultValue = "4", paramLabel = "K", description = "Synthetic workers (default ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--render-ms", defaultValue = "0", paramLabel = "M",
            description = "Milliseconds each synthetic image takes to render (default ${DEFAULT-VALUE}).")
    long renderMs;

    @Option(names = "--batches", defaultValue = "1", paramLabel = "B",
            description = "Batches the N images are shared over, submitted at once (default ${DEFAULT-VALUE}).")
    int batches;

    @Option(names = "--max-batch-images", paramLabel = "MAX",
            description = "Split each batch into requests of at most MAX images (default: one request per batch;"
                    + " for a coordinator that takes fewer images a batch).")
    Integer maxBatchImages;

    @Option(names = "--worker-max-batch", defaultValue = "1", paramLabel = "J",
            description = "Jobs a worker takes in one poll (latentfarm.worker.max-batch, default ${DEFAULT-VALUE}).")
    int workerMaxBatch;

    @Option(names = "--probe", description = "Also time a 4-image batch alone before the run, and one submitted"
            + " right after the run's batches (behind their windows); prints both latencies and their ratio.")
    boolean probe;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Folder for the broker's and S3 server's data (default: a temporary folder, deleted at the end).")
    Path data;

    @Option(names = "--timeout", defaultValue = "PT30M", description = "Longest wait for the batches, ISO-8601 (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        require(images >= 1, "--images: " + images + " is below 1");
        require(workers >= 1, "--workers: " + workers + " is below 1");
        require(renderMs >= 0, "--render-ms: " + renderMs + " is below 0");
        require(batches >= 1 && batches <= images, "--batches: " + batches + " must be 1 to --images (" + images + ")");
        require(maxBatchImages == null || maxBatchImages >= 1, "--max-batch-images: " + maxBatchImages + " is below 1");
        require(workerMaxBatch >= 1, "--worker-max-batch: " + workerMaxBatch + " is below 1");
        if (System.getProperty("org.slf4j.simpleLogger.log.org.apache.kafka") == null) {
            System.setProperty("org.slf4j.simpleLogger.log.org.apache.kafka", "error");
        }
        List<RenderRequest> requests = requests();
        int largest = requests.stream().mapToInt(RenderRequest::imageCount).max().orElse(1);

        Map<String, Object> settings = new HashMap<>(LocalStack.syntheticWorker(renderMs));
        // The coordinator (and the workers, which check jobs against the same limit) must take the largest request.
        settings.put("latentfarm.coordinator.max-images", Math.max(64, largest));
        settings.put("latentfarm.worker.max-batch", workerMaxBatch);
        settings.put("latentfarm.coordinator.job-partitions", Math.max(12, workers)); // a partition for every worker

        boolean temporary = data == null;
        Path dataDir = temporary ? Files.createTempDirectory("latentfarm-bench") : data.toAbsolutePath();
        long t0 = System.nanoTime();
        out.printf("bench cluster: %d images in %d request(s) of %d batch(es), %d synthetic worker(s), %d ms a render%n",
                images, requests.size(), batches, workers, renderMs);
        out.flush();
        try (LocalStack stack = new LocalStack(dataDir, settings, workers, 0)) {
            Topics topics = Topics.defaults();
            String bootstrap = stack.kafka().bootstrapServers();
            awaitGroup(bootstrap, stack.bean(CoordinatorSettings.class).groupId(), 1, GROUP_WAIT);
            awaitGroup(bootstrap, stack.bean(WorkerSettings.class).groupId(), workers, GROUP_WAIT);
            out.printf("  ready in %.2f s (broker, S3 server, coordinator, %d worker(s), each with its partitions)%n",
                    (System.nanoTime() - t0) / 1e9, workers);
            out.flush();
            HeapPeak heap = HeapPeak.start();
            Outcomes outcomes;
            long submitStart;
            long submitWall;
            long submitted;
            double idleProbe = 0;
            java.util.concurrent.CompletableFuture<Double> busyProbe = null;
            try (EventsFollower events = new EventsFollower(bootstrap, topics.events());
                 BatchClient client = new BatchClient(bootstrap, topics)) {
                if (probe) {
                    idleProbe = probe(client, "idle");
                }
                submitStart = System.nanoTime();
                submitWall = System.currentTimeMillis();
                for (RenderRequest r : requests) {
                    client.submit(r);
                }
                submitted = System.nanoTime();
                if (probe) {
                    busyProbe = java.util.concurrent.CompletableFuture.supplyAsync(() -> probe(client, "busy"));
                }
                out.printf("  submitted in %.2f s%n", (submitted - submitStart) / 1e9);
                out.flush();
                outcomes = events.await(requests.stream().map(RenderRequest::batchId).toList(), timeout);
            } finally {
                heap.stop();
            }
            if (busyProbe != null) {
                double busy = busyProbe.join();
                out.printf("  a 4-image batch: alone %.3f s, behind the run's batches %.3f s (%.2fx)%n",
                        idleProbe, busy, busy / idleProbe);
            }
            double elapsed = (outcomes.lastFinal - submitStart) / 1e9;
            long firstAccepted = outcomes.firstAccepted == 0 ? submitted : outcomes.firstAccepted;
            out.printf("  first accepted after %.3f s, last final event after %.2f s: %d completed, %d other (%s)%n",
                    (firstAccepted - submitStart) / 1e9, elapsed, outcomes.completed(), outcomes.finals.size() - outcomes.completed(),
                    outcomes.otherSummary());
            out.flush();
            out.println("  " + timeline(bootstrap, topics.jobs(), "jobs", submitWall) + "; "
                    + timeline(bootstrap, topics.results(), "results", submitWall));
            long checkStart = System.nanoTime();
            long lost = lost(stack.store(), ObjectKeys.root(), requests, outcomes);
            out.printf("  checked %d image(s) in the bucket and the manifests in %.2f s%n", images,
                    (System.nanoTime() - checkStart) / 1e9);
            double overheadMs = (elapsed * 1000.0 - (double) images * renderMs / workers) / images;
            out.printf("bench cluster: %d images in %.2f s, %.1f images/s, overhead %.2f ms/image, lost %d,"
                            + " duplicate completions %d, coordinator heap peak %d MiB%n",
                    images, elapsed, images / elapsed, overheadMs, lost, outcomes.duplicateCompletions(),
                    heap.peakBytes() >> 20);
            out.flush();
            return outcomes.timedOut ? BatchWatch.EXIT_TIMEOUT : outcomes.completed() == requests.size() ? 0 : BatchWatch.EXIT_FAILED;
        } finally {
            if (temporary) {
                LocalCommand.deleteQuietly(dataDir);
            }
        }
    }

    /**
     * When a topic's records of this run were written (their timestamps), from the first request:
     * the jobs the coordinator fanned out, the results the workers sent. Results reach the broker
     * a render and an upload after their job; completion comes after the coordinator has taken the last.
     */
    static String timeline(String bootstrap, String topic, String name, long fromWallMs) {
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        int count = 0;
        for (ConsumerRecord<String, byte[]> r : EmbeddedKafka.readAll(bootstrap, topic, false)) {
            if (r.timestamp() >= fromWallMs) {
                first = Math.min(first, r.timestamp());
                last = Math.max(last, r.timestamp());
                count++;
            }
        }
        return count == 0 ? "no " + name : String.format("%d %s written from %.2f s to %.2f s", count, name,
                (first - fromWallMs) / 1e3, (last - fromWallMs) / 1e3);
    }

    /**
     * Waits until {@code members} consumers are in the group, it is stable and each holds partitions,
     * so that no rebalance (and no job handed over) falls into the measurement.
     */
    static void awaitGroup(String bootstrap, String group, int members, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            while (true) {
                ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all()
                        .get(30, TimeUnit.SECONDS).get(group);
                if (d.groupState() == GroupState.STABLE && d.members().size() == members
                        && d.members().stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty())) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("consumer group " + group + " did not settle with " + members
                            + " member(s) holding partitions within " + timeout + ": " + d.groupState() + ", "
                            + d.members().stream().map(m -> m.clientId() + " " + m.assignment().topicPartitions()).toList());
                }
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + group, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot describe consumer group " + group + ": " + e, e);
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Seconds from submitting a 4-image batch to its completed event (the run's own batches are not counted). */
    private double probe(BatchClient client, String name) {
        String id = BatchIds.requireValid("probe-" + name + "-" + Long.toString(System.nanoTime(), 36));
        try (BatchClient.Events events = client.events(id, false)) {
            long start = System.nanoTime();
            client.submit(RenderRequest.builder().batchId(id).prompt("bench cluster probe").count(4).steps(1)
                    .size(64, 64).seed(1L).build());
            BatchEvent last = events.awaitFinal(timeout, e -> { }).orElseThrow(
                    () -> new IllegalStateException("probe batch " + id + ": no final event within " + timeout));
            if (last.type() != BatchEvent.Type.COMPLETED) {
                throw new IllegalStateException("probe batch " + id + " ended " + last.type() + ": " + last.reason());
            }
            return (System.nanoTime() - start) / 1e9;
        }
    }

    /** B batches sharing the N images as evenly as they go, each one request unless --max-batch-images splits it. */
    List<RenderRequest> requests() {
        List<RenderRequest> out = new ArrayList<>();
        String run = Long.toString(System.currentTimeMillis(), 36);
        for (int b = 0; b < batches; b++) {
            int size = images / batches + (b < images % batches ? 1 : 0);
            int max = maxBatchImages == null ? size : maxBatchImages;
            for (int part = 0, from = 0; from < size; part++, from += max) {
                int n = Math.min(max, size - from);
                String id = BatchIds.requireValid("bench-" + run + "-" + b + (part == 0 && n == size ? "" : "-" + part));
                out.add(RenderRequest.builder().batchId(id).prompt("bench cluster, batch " + b).count(n).steps(1)
                        .size(64, 64).seed(1000L * b + part).build());
            }
        }
        return out;
    }

    /**
     * Images whose PNG is not in the bucket, or that have no result in their completed batch's
     * manifest (every image of a batch that did not complete); an image missing both ways counts once.
     */
    static long lost(ObjectStore store, ObjectKeys keys, List<RenderRequest> requests, Outcomes outcomes) {
        ObjectMapper json = Json.newMapper();
        long lost = 0;
        for (RenderRequest r : requests) {
            String batch = r.batchId();
            Set<String> present = new HashSet<>(store.list(keys.batchPrefix(batch) + "images/"));
            Set<Integer> withResult = outcomes.completed.contains(batch) ? rendered(store, keys, batch, json) : Set.of();
            for (int i = 0; i < r.imageCount(); i++) {
                if (!present.contains(keys.image(batch, i, r.imageCount())) || !withResult.contains(i)) {
                    lost++;
                }
            }
        }
        return lost;
    }

    /**
     * The indices a batch's manifest names a worker for: {@code manifest.jsonl} (one image a line),
     * where the coordinator writes one, else the {@code images} of {@code manifest.json}.
     */
    private static Set<Integer> rendered(ObjectStore store, ObjectKeys keys, String batch, ObjectMapper json) {
        Set<Integer> out = new HashSet<>();
        try {
            Optional<byte[]> lines = store.find(keys.batchPrefix(batch) + "manifest.jsonl");
            List<JsonNode> entries = new ArrayList<>();
            if (lines.isPresent()) {
                for (String line : new String(lines.get(), StandardCharsets.UTF_8).split("\n")) {
                    if (!line.isBlank()) {
                        entries.add(json.readTree(line));
                    }
                }
            } else {
                store.find(keys.manifest(batch)).map(b -> readTree(json, b))
                        .ifPresent(m -> m.path("images").forEach(entries::add));
            }
            for (JsonNode e : entries) {
                if (e.hasNonNull("workerId") && e.path("index").isInt()) {
                    out.add(e.path("index").asInt());
                }
            }
        } catch (IOException e) {
            // an unreadable manifest: its images count as lost
        }
        return out;
    }

    private static JsonNode readTree(ObjectMapper json, byte[] bytes) {
        try {
            return json.readTree(bytes);
        } catch (IOException e) {
            return json.createObjectNode();
        }
    }

    /** The batches' final events as the events topic has them (read_committed), and every completion of theirs. */
    static final class Outcomes {
        final Map<String, BatchEvent.Type> finals = new LinkedHashMap<>();
        final Set<String> completed = new HashSet<>();
        final Map<String, Integer> completions = new HashMap<>();
        long firstAccepted;
        long lastFinal;
        boolean timedOut;

        int completed() {
            return completed.size();
        }

        /** {@code completed} events beyond the first, over all batches. */
        long duplicateCompletions() {
            return completions.values().stream().mapToLong(n -> Math.max(0, n - 1)).sum();
        }

        String otherSummary() {
            Map<BatchEvent.Type, Integer> counts = new LinkedHashMap<>();
            finals.values().stream().filter(t -> t != BatchEvent.Type.COMPLETED).forEach(t -> counts.merge(t, 1, Integer::sum));
            return counts.isEmpty() ? "none" : counts.toString();
        }
    }

    /**
     * Every partition of the events topic, read_committed, from where it ends when opened (open it
     * before submitting): waits for the batches' final events, then reads to the end to count any
     * completion written after the first.
     */
    static final class EventsFollower implements AutoCloseable {
        private final KafkaConsumer<String, byte[]> consumer;
        private final List<TopicPartition> partitions;

        EventsFollower(String bootstrap, String topic) {
            Map<String, Object> c = new HashMap<>();
            c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
            partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position); // resolved now, before anything is submitted
        }

        Outcomes await(List<String> batchIds, Duration timeout) {
            Set<String> ours = new HashSet<>(batchIds);
            Outcomes o = new Outcomes();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (o.finals.size() < ours.size()) {
                if (System.nanoTime() > deadline) {
                    o.timedOut = true;
                    o.lastFinal = System.nanoTime();
                    return o;
                }
                take(ours, o, Duration.ofMillis(100));
            }
            // Anything committed up to now: a second completion of a batch would be here.
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp)) && System.nanoTime() < until) {
                take(ours, o, Duration.ofMillis(100));
            }
            return o;
        }

        private void take(Set<String> ours, Outcomes o, Duration poll) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(poll)) {
                if (!ours.contains(r.key())) {
                    continue;
                }
                BatchEvent e;
                try {
                    e = Json.batchEvent(r.value());
                } catch (MessageDecodeException ex) {
                    continue;
                }
                long now = System.nanoTime();
                if (e.type() == BatchEvent.Type.ACCEPTED && o.firstAccepted == 0) {
                    o.firstAccepted = now;
                }
                if (e.type() == BatchEvent.Type.COMPLETED) {
                    o.completions.merge(r.key(), 1, Integer::sum);
                    o.completed.add(r.key());
                }
                if (e.type().isFinal() && !o.finals.containsKey(r.key())) {
                    o.finals.put(r.key(), e.type());
                    o.lastFinal = now;
                }
            }
        }

        @Override
        public void close() {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    /**
     * The JVM's heap in use, sampled every 10 ms from before the submit to the last final event. The
     * coordinator runs in this JVM beside the workers, the broker and the S3 server, so this bounds
     * the coordinator's own peak from above.
     */
    static final class HeapPeak {
        private final AtomicLong peak = new AtomicLong();
        private final Thread sampler;
        private volatile boolean stop;

        private HeapPeak() {
            MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
            sampler = new Thread(() -> {
                while (!stop) {
                    peak.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "latentfarm-bench-heap");
            sampler.setDaemon(true);
        }

        static HeapPeak start() {
            HeapPeak h = new HeapPeak();
            h.sampler.start();
            return h;
        }

        void stop() {
            stop = true;
            sampler.interrupt();
            try {
                sampler.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        long peakBytes() {
            return peak.get();
        }
    }
}
