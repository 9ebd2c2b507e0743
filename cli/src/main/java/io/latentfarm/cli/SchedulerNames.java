package io.latentfarm.cli;

import io.latentfarm.common.SchedulerRegistry;

import java.util.Iterator;

/**
 * The {@code --scheduler} values as help lists them ({@code ${COMPLETION-CANDIDATES}}): each short
 * name with the AUTOMATIC1111 sampler label PNGs carry, from the one scheduler table.
 */
final class SchedulerNames implements Iterable<String> {
    static final String DESCRIPTION = "Sampler (default: the model's own scheduler): ${COMPLETION-CANDIDATES}.";

    @Override
    public Iterator<String> iterator() {
        return SchedulerRegistry.all().stream().map(e -> e.name() + " (" + e.label() + ")").iterator();
    }

    /** Fails for a name not in the table, listing the known ones. */
    static void check(String option, String name) {
        if (name != null && !SchedulerRegistry.isKnown(name)) {
            throw new IllegalArgumentException(option + ": '" + name + "' is not one of "
                    + String.join(", ", SchedulerRegistry.names()));
        }
    }
}
