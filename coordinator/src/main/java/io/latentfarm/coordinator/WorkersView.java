package io.latentfarm.coordinator;

import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.RenderResult;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The workers seen recently, as their step progress (id, model, device, job, step) and results
 * (images done, failures) tell; nothing is stored, so a restarted coordinator learns them again as
 * they work. At most {@link #MAX} workers are kept, the longest silent going first.
 */
final class WorkersView {
    static final int MAX = 1000;
    /** A worker not heard from for this long is no longer listed. */
    static final long RECENT_MS = 10 * 60_000;

    /**
     * @param currentJob the job it last reported a step of, null once that job's result is in
     * @param done       images it rendered since this coordinator started watching
     */
    record Worker(String id, String model, String device, String currentJob, Integer step, Integer steps,
                  long done, long failed, long lastSeen) {
    }

    private final Map<String, Worker> workers = new ConcurrentHashMap<>();

    void onEvent(BatchEvent e, long now) {
        BatchEvent.WorkerInfo w = e.worker();
        if (e.type() != BatchEvent.Type.PROGRESS || w == null || w.id() == null) {
            return;
        }
        workers.compute(w.id(), (id, old) -> new Worker(id, w.model(), w.device(), e.jobId(), e.step(), e.steps(),
                old == null ? 0 : old.done(), old == null ? 0 : old.failed(), now));
        trim();
    }

    void onResult(RenderResult r, long now) {
        if (r.workerId() == null) {
            return;
        }
        boolean ok = r.isRendered();
        workers.compute(r.workerId(), (id, old) -> {
            String job = old != null && r.jobId().equals(old.currentJob()) ? null : old == null ? null : old.currentJob();
            return new Worker(id, r.model() != null ? r.model() : old == null ? null : old.model(),
                    old == null ? null : old.device(), job, job == null ? null : old.step(),
                    job == null ? null : old.steps(), (old == null ? 0 : old.done()) + (ok ? 1 : 0),
                    (old == null ? 0 : old.failed()) + (ok ? 0 : 1), now);
        });
        trim();
    }

    /** Workers heard from within {@link #RECENT_MS}, most recent first. */
    List<Worker> recent(long now) {
        return workers.values().stream().filter(w -> now - w.lastSeen() <= RECENT_MS)
                .sorted(Comparator.comparingLong(Worker::lastSeen).reversed().thenComparing(Worker::id)).toList();
    }

    private void trim() {
        while (workers.size() > MAX) {
            workers.values().stream().min(Comparator.comparingLong(Worker::lastSeen))
                    .ifPresent(w -> workers.remove(w.id()));
        }
    }
}
