package io.latentfarm.coordinator;

import io.latentfarm.common.BatchIds;
import io.latentfarm.client.storage.ObjectStore;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.server.types.files.StreamedFile;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.util.Optional;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A batch's objects through the coordinator, streamed from the object store as they are read, so
 * a browser never needs S3 credentials: {@code GET /batches/{id}/images/{n}.png},
 * {@code /batches/{id}/grid.png}, {@code /batches/{id}/manifest.json}, and {@code /batches/{id}/all.zip}
 * with all of them (written while the images are read, never whole in memory).
 */
@Controller("/batches")
@ExecuteOn(TaskExecutors.BLOCKING)
@Requires(env = CoordinatorApplication.ROLE)
class BatchFilesController {
    private static final Logger LOG = LoggerFactory.getLogger(BatchFilesController.class);
    private static final MediaType PNG = MediaType.IMAGE_PNG_TYPE;

    private final Coordinator coordinator;
    private final ObjectStore store;

    BatchFilesController(Coordinator coordinator, ObjectStore store) {
        this.coordinator = coordinator;
        this.store = store;
    }

    @Get("/{id}/images/{index}.png")
    HttpResponse<?> image(@PathVariable String id, @PathVariable int index) {
        return state(id).<HttpResponse<?>>map(s -> !s.isIn(index)
                        ? notFound("image " + index + " of batch " + id + " is not in")
                        : stream(coordinator.imageKey(s, index), PNG))
                .orElseGet(() -> notFound("no batch " + id));
    }

    @Get("/{id}/grid.png")
    HttpResponse<?> grid(@PathVariable String id) {
        return state(id).<HttpResponse<?>>map(s -> s.gridKey() == null
                        ? notFound("batch " + id + " has no grid (it is " + s.status().name().toLowerCase() + ")")
                        : stream(s.gridKey(), PNG))
                .orElseGet(() -> notFound("no batch " + id));
    }

    @Get("/{id}/manifest.json")
    HttpResponse<?> manifest(@PathVariable String id) {
        return state(id).<HttpResponse<?>>map(s -> s.manifestKey() == null
                        ? notFound("batch " + id + " has no manifest (it is " + s.status().name().toLowerCase() + ")")
                        : stream(s.manifestKey(), MediaType.APPLICATION_JSON_TYPE))
                .orElseGet(() -> notFound("no batch " + id));
    }

    /**
     * Every image that is in, and the grid and manifest when there are, as {@code {id}/0000.png ...};
     * {@code manifest.jsonl} too for a batch too large for {@code manifest.json} to list its images.
     */
    @Get("/{id}/all.zip")
    HttpResponse<?> zip(@PathVariable String id) throws IOException {
        Optional<BatchSummary> found = state(id);
        if (found.isEmpty()) {
            return notFound("no batch " + id);
        }
        BatchSummary s = found.get();
        PipedInputStream in = new PipedInputStream(1 << 16);
        PipedOutputStream pipe = new PipedOutputStream(in);
        Thread writer = new Thread(() -> {
            try (ZipOutputStream zip = new ZipOutputStream(pipe)) {
                for (int i = 0; i < s.total(); i++) {
                    if (s.isIn(i)) {
                        String key = coordinator.imageKey(s, i);
                        copy(zip, id + "/" + key.substring(key.lastIndexOf('/') + 1), key);
                    }
                }
                if (s.gridKey() != null) {
                    copy(zip, id + "/grid.png", s.gridKey());
                }
                if (s.manifestKey() != null) {
                    copy(zip, id + "/manifest.json", s.manifestKey());
                }
                if (s.manifestLinesKey() != null && s.total() > coordinator.settings().maxListedImages()) {
                    copy(zip, id + "/manifest.jsonl", s.manifestLinesKey()); // manifest.json does not list them
                }
            } catch (IOException | RuntimeException e) {
                LOG.info("zip of batch {} not finished: {}", id, e.toString()); // the browser went away
            }
        }, "latentfarm-zip-" + id);
        writer.setDaemon(true);
        writer.start();
        return HttpResponse.ok(new StreamedFile(in, MediaType.of("application/zip")))
                .header("Content-Disposition", "attachment; filename=\"" + id + ".zip\"");
    }

    private void copy(ZipOutputStream zip, String name, String key) throws IOException {
        Optional<InputStream> object = store.stream(key);
        if (object.isEmpty()) {
            return;
        }
        try (InputStream in = object.get()) {
            zip.putNextEntry(new ZipEntry(name));
            in.transferTo(zip);
            zip.closeEntry();
        }
    }

    private Optional<BatchSummary> state(String id) {
        return BatchIds.isValid(id) ? coordinator.batch(id) : Optional.empty();
    }

    private HttpResponse<?> stream(String key, MediaType type) {
        return store.stream(key).<HttpResponse<?>>map(in -> HttpResponse.ok(new StreamedFile(in, type))
                        .header("Cache-Control", "private, max-age=3600"))
                .orElseGet(() -> notFound("object " + key + " is missing from the bucket"));
    }

    private static HttpResponse<?> notFound(String why) {
        return HttpResponse.notFound(java.util.Map.of("error", why));
    }
}
