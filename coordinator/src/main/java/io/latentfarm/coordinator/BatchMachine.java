package io.latentfarm.coordinator;

import io.latentfarm.common.Excerpt;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.RenderResult;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A batch's lifecycle as plain functions: (summary, input) to a new summary, with what it causes
 * (events, jobs, dead letters, image records, cancel records) added to an {@link Effects}. No
 * clients, no clock, no object store: the only thing read is the batch's {@link ImageSource}, for
 * the jobs of the images it releases or issues again. The transactional loop ({@link Coordinator})
 * decodes inputs, calls these, and writes the effects and the new summaries in one transaction.
 *
 * <p>The work per call is bounded by the window, never by the batch's size.
 */
final class BatchMachine {
    private BatchMachine() {
    }

    /**
     * @param window          most jobs a running batch has outstanding
     * @param maxAttempts     tries per image before it fails the batch
     * @param reissueAfterMs  an image in flight this long, in a batch silent this long, is issued again
     * @param maxListedImages most images whose keys a completed event lists (and manifest.json too)
     */
    record Rules(int window, int maxAttempts, long reissueAfterMs, int maxListedImages) {
        Rules {
            if (window < 1 || maxAttempts < 1 || reissueAfterMs < 1 || maxListedImages < 0) {
                throw new IllegalArgumentException(
                        "window, maxAttempts and reissueAfterMs must be at least 1, maxListedImages at least 0");
            }
        }
    }

    /** A job that failed for good, with why. */
    record DeadJob(RenderJob job, String reason) {
    }

    /** What steps cause, in the order they caused it. */
    static final class Effects {
        final List<BatchEvent> events = new ArrayList<>();
        final List<RenderJob> jobs = new ArrayList<>();
        final List<DeadJob> deadLetters = new ArrayList<>();
        final List<ImageRecord> images = new ArrayList<>();
        /** {@code cancelled} events for the compacted cancels topic the workers read. */
        final List<BatchEvent> cancels = new ArrayList<>();
    }

    // ---------------------------------------------------------------- accept, cancel

    /** A request accepted (batch id and seed filled in): its {@code accepted} event; nothing released yet. */
    static BatchSummary accept(RenderRequest request, int total, int priority, long now, Effects out) {
        out.events.add(BatchEvent.accepted(request, total, null));
        return BatchSummary.accepted(request, total, priority, now);
    }

    /** A running batch cancelled: one {@code cancelled} event and a cancel record; nothing more is released. */
    static BatchSummary cancel(BatchSummary s, String reason, long now, Effects out) {
        requireRunning(s);
        BatchEvent cancelled = BatchEvent.cancelled(s.batchId(), reason);
        out.events.add(cancelled);
        out.cancels.add(cancelled);
        return s.ended(BatchSummary.Status.CANCELLED, now, reason);
    }

    // ---------------------------------------------------------------- release

    /** How many more images a batch may release now: its window's free room, at most what is left. */
    static int room(BatchSummary s, Rules rules) {
        if (!s.isRunning()) {
            return 0;
        }
        return Math.max(0, Math.min(rules.window() - s.inFlight().size(), s.total() - s.released()));
    }

    /** Releases the batch's next image (there must be {@link #room}): its job, first attempt. */
    static BatchSummary releaseOne(BatchSummary s, ImageSource source, long now, Effects out) {
        ImageSource.Read read = source.read(s.cursor());
        if (read.job().index() != s.released()) {
            throw new IllegalStateException("batch " + s.batchId() + ": source read image " + read.job().index()
                    + " at the cursor of image " + s.released());
        }
        out.jobs.add(read.job());
        return s.withReleased(new BatchSummary.InFlight(s.cursor(), read.job().objectKey(), 1, now), read.next());
    }

    /**
     * Fills the running batches' windows, one image per batch per round, higher {@code priority}
     * first in each round (then the earlier accepted), so the jobs topic interleaves the batches
     * and a small batch behind a large one waits for at most the others' windows.
     *
     * @return the summaries that released something, by batch id
     */
    static Map<String, BatchSummary> fanOut(List<BatchSummary> running, Function<BatchSummary, ImageSource> sources,
                                            Rules rules, long now, Effects out) {
        List<BatchSummary> order = new ArrayList<>(running.stream().filter(s -> room(s, rules) > 0).toList());
        order.sort(Comparator.comparingInt(BatchSummary::priority).reversed()
                .thenComparingLong(BatchSummary::acceptedAt).thenComparing(BatchSummary::batchId));
        Map<String, BatchSummary> changed = new LinkedHashMap<>();
        while (!order.isEmpty()) {
            List<BatchSummary> next = new ArrayList<>(order.size());
            for (BatchSummary s : order) {
                BatchSummary after = releaseOne(s, sources.apply(s), now, out);
                changed.put(after.batchId(), after);
                if (room(after, rules) > 0) {
                    next.add(after);
                }
            }
            order = next;
        }
        return changed;
    }

    // ---------------------------------------------------------------- results

    /**
     * A worker's result. An image in flight that rendered is in: its record, and a {@code progress}
     * event unless it was the last ({@link #isComplete}: the loop then assembles and
     * {@link #complete}s). A failed attempt is issued again, or, after the last attempt or when no
     * retry can help, dead-lettered and the batch failed. Anything else (late, duplicate, a batch
     * not running, an image not in flight, a superseded attempt's failure) changes nothing.
     */
    static BatchSummary onResult(BatchSummary s, RenderResult r, ImageSource source, Rules rules, long now,
                                 Effects out) {
        if (!s.isRunning()) {
            return s;
        }
        BatchSummary.InFlight image = s.inFlight(r.index());
        if (image == null) {
            return s;
        }
        if (r.isRendered()) {
            ImageRecord record = ImageRecord.of(r, image.objectKey(), now);
            out.images.add(record);
            BatchSummary next = s.withImageIn(r.index(), record.warnings(), now);
            if (!isComplete(next)) {
                out.events.add(BatchEvent.progress(s.batchId(), next.done(), next.total(), r.warnings()));
            }
            return next;
        }
        if (r.attempt() < image.attempt()) {
            return s; // a failure of an attempt already superseded
        }
        RenderJob job = source.read(image.at()).job().withAttempt(r.attempt());
        if (!r.failsOnEveryTry() && r.attempt() < rules.maxAttempts()) {
            out.jobs.add(job.withAttempt(r.attempt() + 1));
            return s.withReissued(r.index(), r.attempt() + 1, now);
        }
        // a permanent failure (one no retry can change) fails the image at its first attempt
        String reason = r.failsOnEveryTry() ? "image " + r.index() + " failed: " + Excerpt.cut(r.reason())
                : "image " + r.index() + " failed after " + r.attempt() + " attempts: " + Excerpt.cut(r.reason());
        out.deadLetters.add(new DeadJob(job, reason));
        out.events.add(BatchEvent.failed(s.batchId(), reason));
        return s.ended(BatchSummary.Status.FAILED, now, reason);
    }

    /** Every image in, not yet completed: time to assemble grid and manifest. */
    static boolean isComplete(BatchSummary s) {
        return s.isRunning() && s.done() == s.total();
    }

    /**
     * The batch completed, with what assembly wrote: its {@code completed} event (listing the image
     * keys when given, i.e. for batches of at most {@code maxListedImages}).
     *
     * @param gridKey   null when no grid was composed
     * @param imageKeys every image's key in order, or null
     */
    static BatchSummary complete(BatchSummary s, String bucket, String gridKey, String manifestKey,
                                 String manifestLinesKey, List<String> imageKeys, long now, Effects out) {
        if (!isComplete(s)) {
            throw new IllegalStateException("batch " + s.batchId() + " is not complete: " + s.done() + "/" + s.total());
        }
        out.events.add(BatchEvent.completed(s.batchId(), bucket, s.total(), imageKeys, gridKey, manifestKey,
                s.warnings()));
        return s.completed(now, bucket, gridKey, manifestKey, manifestLinesKey);
    }

    // ---------------------------------------------------------------- deadlines

    /**
     * Whether the batch has been silent (no image in, nothing re-issued) for the re-issue time, with
     * images in flight at least that long.
     */
    static boolean isOverdue(BatchSummary s, Rules rules, long now) {
        if (!s.isRunning() || now - s.lastProgressAt() < rules.reissueAfterMs()) {
            return false;
        }
        return s.inFlight().stream().anyMatch(f -> now - f.issuedAt() >= rules.reissueAfterMs());
    }

    /**
     * An overdue batch's images issued again, each as its next attempt; an image already at its
     * last attempt instead fails the batch, dead-lettering the overdue images' jobs.
     */
    static BatchSummary reissueOverdue(BatchSummary s, ImageSource source, Rules rules, long now, Effects out) {
        if (!isOverdue(s, rules, now)) {
            return s;
        }
        List<BatchSummary.InFlight> overdue = s.inFlight().stream()
                .filter(f -> now - f.issuedAt() >= rules.reissueAfterMs()).toList();
        int worst = overdue.stream().mapToInt(BatchSummary.InFlight::attempt).max().orElse(0);
        if (worst >= rules.maxAttempts()) {
            List<Integer> indexes = overdue.stream().map(BatchSummary.InFlight::index).toList();
            String reason = "no result for image(s) " + indexes + " after " + worst + " attempts";
            for (BatchSummary.InFlight f : overdue) {
                out.deadLetters.add(new DeadJob(source.read(f.at()).job().withAttempt(f.attempt()), reason));
            }
            out.events.add(BatchEvent.failed(s.batchId(), reason));
            return s.ended(BatchSummary.Status.FAILED, now, reason);
        }
        BatchSummary next = s;
        for (BatchSummary.InFlight f : overdue) {
            out.jobs.add(source.read(f.at()).job().withAttempt(f.attempt() + 1));
            next = next.withReissued(f.index(), f.attempt() + 1, now);
        }
        return next;
    }

    private static void requireRunning(BatchSummary s) {
        if (!s.isRunning()) {
            throw new IllegalStateException("batch " + s.batchId() + " is " + s.status());
        }
    }
}
