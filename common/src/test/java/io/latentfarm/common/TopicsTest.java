package io.latentfarm.common;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TopicsTest {
    @Test
    void defaultNames() {
        Topics t = Topics.defaults();
        assertEquals("latentfarm.requests", t.requests());
        assertEquals("latentfarm.jobs", t.jobs());
        assertEquals("latentfarm.results", t.results());
        assertEquals("latentfarm.events", t.events());
        assertEquals("latentfarm.jobs.dlq", t.jobsDlq());
        assertEquals("latentfarm.cancels", t.cancels());
        assertEquals("latentfarm.batch-images", t.batchImages());
        assertEquals(8, t.all().size());
    }

    @Test
    void prefixIsConfigurable() {
        assertEquals(List.of("requests", "jobs", "results", "events", "jobs.dlq", "batches", "batch-images",
                        "cancels"),
                new Topics("").all());
        assertEquals("staging-lf.jobs", new Topics("staging-lf.").jobs());
    }

    @Test
    void illegalPrefixesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Topics("has space."));
        assertThrows(IllegalArgumentException.class, () -> new Topics("slash/"));
        assertThrows(IllegalArgumentException.class, () -> new Topics("x".repeat(238)));
        assertThrows(NullPointerException.class, () -> new Topics(null));
    }
}
