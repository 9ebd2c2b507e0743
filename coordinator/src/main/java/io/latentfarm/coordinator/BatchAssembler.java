package io.latentfarm.coordinator;

import io.latentfarm.client.kafka.Partitions;
import io.latentfarm.common.image.Grid;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.client.storage.ObjectStore;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The completion step of a batch: {@code manifest.jsonl} (one line per image, in image order),
 * {@code manifest.json} (the summary) and, when {@code rows x cols} was asked for and the batch has
 * at most {@code maxGridImages}, {@code grid.png}; all uploaded before the transaction that records
 * the completion commits (a retry rewrites them with the same content).
 *
 * <p>Memory stays bounded for any batch size: the batch's image records are read back from the
 * batch-images topic (from the batch's acceptance time on, via the broker's time index) into a
 * temporary file, with one {@code long} per image locating its record; the lines are then written
 * in index order, beside the image source's jobs read in order, to a second file that is streamed
 * to the object store. Only a grid holds images in memory, hence its limit.
 */
final class BatchAssembler implements AutoCloseable {
    /** Records written up to this long before the batch's acceptance (clock skew between coordinators) are read too. */
    private static final long SKEW_MS = Duration.ofHours(1).toMillis();
    private static final Duration READ_TIMEOUT = Duration.ofMinutes(2);
    private static final int LENGTH_BITS = 24;

    private final CoordinatorSettings settings;
    private final ObjectStore store;
    private final ObjectKeys keys;
    private final int partitions;
    private KafkaConsumer<String, byte[]> consumer;

    BatchAssembler(CoordinatorSettings settings, ObjectStore store, int partitions) {
        this.settings = settings;
        this.store = store;
        this.keys = settings.keys();
        this.partitions = partitions;
    }

    /**
     * What was written: keys, and the image keys in order for a batch of at most
     * {@code maxListedImages} (null for larger ones).
     */
    record Assembled(String gridKey, String manifestKey, String manifestLinesKey, List<String> imageKeys) {
    }

    /**
     * @param pending the batch's image records written in the open transaction (not readable yet)
     */
    Assembled assemble(BatchSummary s, ImageSource source, List<ImageRecord> pending, long now) {
        Path records = null;
        Path lines = null;
        try {
            records = Files.createTempFile("latentfarm-" + s.batchId() + "-", ".records");
            lines = Files.createTempFile("latentfarm-" + s.batchId() + "-", ".jsonl");
            try (Spool spool = new Spool(records, s.total())) {
                long next = readRecords(s, spool, -1);
                spool.putAll(pending);
                long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
                while (spool.missing() > 0) {
                    // A transaction's commit returns before its markers reach the partitions: the
                    // records the last transaction wrote may not be readable (read_committed) yet.
                    if (System.nanoTime() > deadline) {
                        break; // get() names the first image still missing
                    }
                    Thread.sleep(20);
                    next = readRecords(s, spool, next);
                    spool.putAll(pending); // the open transaction's records stay the latest
                }
                return writeAll(s, source, spool, lines, now);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("assembling batch " + s.batchId() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while assembling batch " + s.batchId(), e);
        } finally {
            delete(records);
            delete(lines);
        }
    }

    private Assembled writeAll(BatchSummary s, ImageSource source, Spool spool, Path lines, long now)
            throws IOException {
        RenderRequest request = s.request();
        int maxListed = settings.maxListedImages();
        boolean grid = request.rows() != null && request.cols() != null && s.total() <= settings.maxGridImages();
        List<String> imageKeys = s.total() <= maxListed ? new ArrayList<>(s.total()) : null;
        List<Manifest.Image> listed = s.total() <= maxListed ? new ArrayList<>(s.total()) : null;
        List<RgbImage> gridImages = grid ? new ArrayList<>(s.total()) : null;
        Set<String> models = new LinkedHashSet<>();
        Set<String> schedulers = new LinkedHashSet<>();
        long renderMs = 0;
        SourceCursor cursor = SourceCursor.start();
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(lines), 1 << 16)) {
            for (int i = 0; i < s.total(); i++) {
                ImageSource.Read read = source.read(cursor);
                cursor = read.next();
                RenderJob job = read.job();
                ImageRecord record = spool.get(s.batchId(), i);
                Manifest.Image image = Manifest.image(job, record);
                out.write(Json.toBytes(image));
                out.write('\n');
                if (listed != null) {
                    listed.add(image);
                    imageKeys.add(record.objectKey());
                }
                if (gridImages != null) {
                    gridImages.add(Png.decode(store.get(record.objectKey())));
                }
                if (record.model() != null && models.size() < 16) {
                    models.add(record.model());
                }
                if (record.scheduler() != null && schedulers.size() < 16) {
                    schedulers.add(record.scheduler());
                }
                if (record.timings() != null) {
                    renderMs += record.timings().totalMs();
                }
            }
        }
        String linesKey = keys.manifestLines(s.batchId());
        store.put(linesKey, lines, "application/x-ndjson");
        String gridKey = null;
        if (gridImages != null) {
            gridKey = keys.grid(s.batchId());
            store.put(gridKey, Png.encode(Grid.compose(gridImages, request.rows(), request.cols())), "image/png");
        }
        String manifestKey = keys.manifest(s.batchId());
        String model = request.model() != null ? request.model() : models.isEmpty() ? null : String.join(", ", models);
        String scheduler = !schedulers.isEmpty() ? String.join(", ", schedulers) : request.scheduler();
        Manifest manifest = new Manifest(s.batchId(), model, scheduler, Instant.ofEpochMilli(s.acceptedAt()).toString(),
                Instant.ofEpochMilli(now).toString(), now - s.acceptedAt(), renderMs, s.total(), s.retried(),
                s.warnings(), gridKey == null ? null : new Manifest.Grid(gridKey, request.rows(), request.cols()),
                linesKey, listed, request);
        store.put(manifestKey, Json.toPrettyBytes(manifest), "application/json");
        return new Assembled(gridKey, manifestKey, linesKey, imageKeys);
    }

    /**
     * Image records spooled to a file as they come, one {@code long} per image locating its record
     * (offset and length); read back by index once all are written.
     */
    private static final class Spool implements AutoCloseable {
        private final Path path;
        private final long[] at;
        private final OutputStream out;
        private long size;
        private RandomAccessFile in;

        Spool(Path path, int total) throws IOException {
            this.path = path;
            this.at = new long[total];
            Arrays.fill(at, -1);
            this.out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 16);
        }

        /** Image {@code index}'s record (a later one for the same image wins). */
        void put(int index, byte[] bytes) throws IOException {
            if (index < 0 || index >= at.length || bytes.length >= 1 << LENGTH_BITS) {
                return; // not an image of this batch
            }
            out.write(bytes);
            at[index] = size << LENGTH_BITS | bytes.length;
            size += bytes.length;
        }

        void putAll(List<ImageRecord> records) throws IOException {
            for (ImageRecord r : records) {
                put(r.index(), Json.toBytes(r));
            }
        }

        /** How many images have no record yet. */
        int missing() {
            int n = 0;
            for (long a : at) {
                if (a < 0) {
                    n++;
                }
            }
            return n;
        }

        ImageRecord get(String batchId, int index) throws IOException {
            if (at[index] < 0) {
                throw new IllegalStateException("batch " + batchId + ": image " + index
                        + " is counted in but its record is not on the batch-images topic");
            }
            if (in == null) {
                out.flush();
                in = new RandomAccessFile(path.toFile(), "r");
            }
            byte[] bytes = new byte[(int) (at[index] & ((1L << LENGTH_BITS) - 1))];
            in.seek(at[index] >>> LENGTH_BITS);
            in.readFully(bytes);
            return Json.fromBytes(bytes, ImageRecord.class);
        }

        @Override
        public void close() throws IOException {
            out.close();
            if (in != null) {
                in.close();
            }
        }
    }

    /**
     * The batch's committed image records, from its partition of the batch-images topic: from the
     * first written since the batch was accepted, or from {@code fromOffset} when not negative (a
     * second read continuing the first).
     *
     * @return the offset after the last record read
     */
    private long readRecords(BatchSummary s, Spool spool, long fromOffset) throws IOException {
        TopicPartition tp = new TopicPartition(settings.topics().batchImages(), Partitions.of(s.batchId(), partitions));
        KafkaConsumer<String, byte[]> c = consumer();
        c.assign(List.of(tp));
        long end = c.endOffsets(List.of(tp)).get(tp); // read_committed: the last stable offset
        if (fromOffset < 0) {
            OffsetAndTimestamp from = c.offsetsForTimes(Map.of(tp, Math.max(0, s.acceptedAt() - SKEW_MS))).get(tp);
            if (from == null) {
                return -1; // nothing readable written since (yet)
            }
            fromOffset = from.offset();
        }
        if (fromOffset >= end) {
            return fromOffset;
        }
        c.seek(tp, fromOffset);
        String prefix = s.batchId() + "/";
        long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
        while (c.position(tp) < end) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("reading the images of batch " + s.batchId() + " took longer than "
                        + READ_TIMEOUT);
            }
            for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                // keys are job ids, batchId/index: a batch id has no '/', so the prefix is this batch's
                if (r.value() != null && r.key() != null && r.key().startsWith(prefix)) {
                    spool.put(indexOf(r.key(), prefix.length()), r.value());
                }
            }
        }
        return c.position(tp);
    }

    private static int indexOf(String jobId, int from) {
        try {
            return Integer.parseInt(jobId, from, jobId.length(), 10);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private KafkaConsumer<String, byte[]> consumer() {
        if (consumer == null) {
            Map<String, Object> c = settings.clientProperties().consumer(settings.transactionalId() + "-images");
            c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
            consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
        }
        return consumer;
    }

    private static void delete(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a temporary file: the OS cleans up
            }
        }
    }

    @Override
    public void close() {
        if (consumer != null) {
            consumer.close(Duration.ZERO);
            consumer = null;
        }
    }
}
