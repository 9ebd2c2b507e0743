package io.latentfarm.coordinator;

import io.latentfarm.client.storage.ObjectStore;
import org.apache.kafka.clients.producer.Producer;

import java.util.Set;
import java.util.function.BiPredicate;

/**
 * A coordinator that dies before a commit the test picks, as a killed process would: the
 * transaction's writes reach the broker, the commit never comes, and the clients are dropped
 * without aborting it (its successor's producer fences it and aborts the transaction).
 */
final class CrashingCoordinator extends Coordinator {
    /** An Error, so the loop's handling of failed transactions does not catch it. */
    static final class SimulatedCrash extends Error {
        SimulatedCrash(String where) {
            super(where, null, false, false);
        }
    }

    private final BiPredicate<Coordinator, Set<String>> crashWhen;

    /** @param crashWhen given the coordinator and the batches the transaction would complete */
    CrashingCoordinator(CoordinatorSettings settings, ObjectStore store, BiPredicate<Coordinator, Set<String>> crashWhen) {
        super(settings, store);
        this.crashWhen = crashWhen;
    }

    @Override
    void beforeCommit(Set<String> completing, Producer<String, byte[]> producer) {
        if (crashWhen.test(this, completing)) {
            producer.flush();
            throw new SimulatedCrash("before committing " + completing);
        }
    }
}
