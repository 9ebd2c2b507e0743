package io.latentfarm.coordinator;

import io.latentfarm.common.BatchIds;
import io.latentfarm.common.message.Json;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;

import java.util.Map;

/** {@code GET /batches/{id}}: the batch's state as JSON (status, done/total, per-image results, keys). */
@Controller("/batches")
@Requires(env = CoordinatorApplication.ROLE)
class BatchController {
    private final Coordinator coordinator;

    BatchController(Coordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Get(uri = "/{id}", produces = MediaType.APPLICATION_JSON)
    HttpResponse<byte[]> batch(@PathVariable String id) {
        if (!BatchIds.isValid(id)) {
            return HttpResponse.<byte[]>badRequest().body(Json.toBytes(Map.of("error",
                    "batch ids are 1 to 64 of A-Z a-z 0-9 _ -")));
        }
        return coordinator.batch(id)
                .map(state -> HttpResponse.ok(Json.toBytes(state)))
                .orElseGet(() -> HttpResponse.<byte[]>notFound().body(Json.toBytes(Map.of("error",
                        "no batch " + id + " on this coordinator (owned partitions " + coordinator.ownedPartitions() + ")"))));
    }
}
