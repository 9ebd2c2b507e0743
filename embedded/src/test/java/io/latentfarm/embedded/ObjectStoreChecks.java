package io.latentfarm.embedded;

import io.latentfarm.common.image.GenerationParameters;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.client.storage.ObjectNotFoundException;
import io.latentfarm.client.storage.ObjectStore;

import java.util.List;
import java.util.Random;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checks any S3-compatible server must pass through {@link ObjectStore}. */
final class ObjectStoreChecks {
    private ObjectStoreChecks() {
    }

    static void putGetExistsListDelete(ObjectStore store) {
        store.createBucketIfMissing(); // idempotent on an existing bucket
        assertTrue(store.bucketExists());
        String batch = UUID.randomUUID().toString();
        ObjectKeys keys = new ObjectKeys("test");

        byte[] big = new byte[3 << 20]; // several MiB, beyond any single-buffer shortcut
        new Random(1).nextBytes(big);
        byte[] small = new byte[]{0, 1, 2, (byte) 0xff};
        RgbImage image = new RgbImage(4, 2, new byte[24]);
        byte[] png = Png.encode(image, new GenerationParameters("p", "", 1, "pndm", 7.5, 1, 4, 2, null, 1, 0));

        store.put(keys.image(batch, 1), big, "application/octet-stream");
        store.put(keys.image(batch, 0), png, "image/png");
        store.put(keys.manifest(batch), small, "application/json");

        assertArrayEquals(big, store.get(keys.image(batch, 1)));
        assertArrayEquals(png, store.get(keys.image(batch, 0)));
        assertArrayEquals(small, store.get(keys.manifest(batch)));
        assertEquals(image, Png.decode(store.get(keys.image(batch, 0))));

        assertTrue(store.exists(keys.manifest(batch)));
        assertFalse(store.exists(keys.grid(batch)));
        assertTrue(store.find(keys.grid(batch)).isEmpty());
        assertThrows(ObjectNotFoundException.class, () -> store.get(keys.grid(batch)));

        assertEquals(List.of(keys.image(batch, 0), keys.image(batch, 1), keys.manifest(batch)),
                store.list(keys.batchPrefix(batch)));
        assertEquals(List.of(), store.list(keys.batchPrefix(UUID.randomUUID().toString())));

        // Overwrite with the same key: a re-rendered job replaces its image.
        store.put(keys.image(batch, 1), small, "image/png");
        assertArrayEquals(small, store.get(keys.image(batch, 1)));

        store.delete(keys.manifest(batch));
        store.delete(keys.manifest(batch)); // deleting twice is fine
        assertFalse(store.exists(keys.manifest(batch)));
        assertEquals(2, store.list(keys.batchPrefix(batch)).size());
    }

    /** Listing pages through more keys than one response holds (S3 returns at most 1000). */
    static void listsAllPages(ObjectStore store, String prefix, int count) {
        List<String> listed = store.list(prefix);
        assertEquals(count, listed.size());
        assertEquals(prefix + String.format("%05d", 0), listed.get(0));
        assertEquals(prefix + String.format("%05d", count - 1), listed.get(count - 1));
    }
}
