package io.latentfarm.model.scheduler;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * One step's tensor scope. An op's result belongs to the manager of its first input, so the
 * step's inputs (and any kept state it reads) are attached here for the duration of the step:
 * every intermediate lands in this scope and is closed with it, the inputs go back to their own
 * managers, and the result is handed to the sample's manager.
 */
final class StepScope implements AutoCloseable {
    private final NDManager home;
    private final NDManager scope;
    private final Map<NDArray, Boolean> attached = new IdentityHashMap<>();

    StepScope(NDArray sample, NDArray... operands) {
        home = sample.getManager();
        scope = home.newSubManager();
        use(sample);
        for (NDArray a : operands) use(a);
    }

    /** Attaches an array the step reads (once; null ignored) and returns it. */
    NDArray use(NDArray a) {
        if (a != null && attached.put(a, Boolean.TRUE) == null) a.tempAttach(scope);
        return a;
    }

    NDManager manager() {
        return scope;
    }

    /** Hands the step's result to the sample's manager, so it outlives the scope. */
    NDArray result(NDArray r) {
        if (attached.containsKey(r)) r = r.duplicate();
        r.attach(home);
        return r;
    }

    @Override
    public void close() {
        scope.close();
    }
}
