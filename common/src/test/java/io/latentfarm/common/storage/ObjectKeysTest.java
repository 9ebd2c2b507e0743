package io.latentfarm.common.storage;

import io.latentfarm.common.BatchIds;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ObjectKeysTest {
    @Test
    void layout() {
        ObjectKeys keys = ObjectKeys.root();
        assertEquals("batches/b1/images/0000.png", keys.image("b1", 0));
        assertEquals("batches/b1/images/0011.png", keys.image("b1", 11));
        assertEquals("batches/b1/images/9999.png", keys.image("b1", 9999, 10_000));
        assertEquals("batches/b1/images/00011.png", keys.image("b1", 11, 10_001), "digits for the last index");
        assertEquals("batches/b1/images/000011.png", keys.image("b1", 11, 1_000_000));
        assertEquals("batches/b1/manifest.jsonl", keys.manifestLines("b1"));
        assertEquals("batches/b1/grid.png", keys.grid("b1"));
        assertEquals("batches/b1/manifest.json", keys.manifest("b1"));
        assertEquals("batches/b1/", keys.batchPrefix("b1"));
    }

    @Test
    void prefixGetsItsSlash() {
        assertEquals("lf/batches/b/grid.png", new ObjectKeys("lf").grid("b"));
        assertEquals("a/b/batches/b/grid.png", new ObjectKeys("a/b/").grid("b"));
        assertThrows(IllegalArgumentException.class, () -> new ObjectKeys("/abs"));
        assertThrows(IllegalArgumentException.class, () -> new ObjectKeys("a//b"));
        assertThrows(IllegalArgumentException.class, () -> new ObjectKeys("../up"));
        assertThrows(IllegalArgumentException.class, () -> new ObjectKeys("a/../b"));
    }

    @Test
    void batchIdsNeverCarryUserText() {
        ObjectKeys keys = ObjectKeys.root();
        for (String bad : new String[]{"", "../x", "a/b", "a b", "ü", "x".repeat(65), null}) {
            assertThrows(IllegalArgumentException.class, () -> keys.grid(bad), String.valueOf(bad));
            assertFalse(BatchIds.isValid(bad));
        }
        assertThrows(IllegalArgumentException.class, () -> keys.image("b", -1));
        assertTrue(BatchIds.isValid(BatchIds.newId()));
        assertTrue(BatchIds.isValid("x".repeat(64)));
    }
}
