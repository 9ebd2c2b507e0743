package io.latentfarm.coordinator;

import io.latentfarm.client.BatchClient;
import io.latentfarm.common.BatchIds;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.MessageDecodeException;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.validation.RequestValidator;
import io.latentfarm.common.validation.Violation;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The batches over HTTP, for the web page and scripts:
 * <ul>
 *   <li>{@code GET /batches/{id}}: the batch's summary as JSON (status, done/total, release cursor, images in
 *       flight, keys), as on the state topic;</li>
 *   <li>{@code GET /batches?limit=N}: the most recent batches, summarized;</li>
 *   <li>{@code GET /batches/{id}/images?offset=&limit=}: a page of its images with their parameters,
 *       and the batch's summary (what the web page's batch view reads, however many images it has);</li>
 *   <li>{@code POST /batches}: a request, the same JSON the requests topic takes, checked with the
 *       coordinator's limits first (400 with the violations, each naming its field) and then sent
 *       to the requests topic (202 with the batch id);</li>
 *   <li>{@code POST /batches/{id}/cancel}: a cancel request for it (202).</li>
 * </ul>
 */
@Controller("/batches")
@ExecuteOn(TaskExecutors.BLOCKING)
@Requires(env = CoordinatorApplication.ROLE)
class BatchController {
    static final int MAX_LIST = 500;
    static final int MAX_PAGE = 500;

    private final Coordinator coordinator;
    private final BatchClient client;
    private final RequestValidator validator;

    BatchController(Coordinator coordinator, BatchClient client) {
        this.coordinator = coordinator;
        this.client = client;
        this.validator = new RequestValidator(coordinator.settings().limits());
    }

    @Get(uri = "/{id}", produces = MediaType.APPLICATION_JSON)
    HttpResponse<byte[]> batch(@PathVariable String id) {
        return find(id).<HttpResponse<byte[]>>map(state -> HttpResponse.ok(Json.toBytes(state))).orElseGet(() -> missing(id));
    }

    @Get(produces = MediaType.APPLICATION_JSON)
    HttpResponse<byte[]> recent(@QueryValue(defaultValue = "50") int limit) {
        List<Map<String, Object>> out = coordinator.batches().stream()
                .sorted(Comparator.comparingLong(BatchSummary::acceptedAt).reversed())
                .limit(Math.max(1, Math.min(limit, MAX_LIST))).map(BatchController::summary).toList();
        return HttpResponse.ok(Json.toBytes(Map.of("batches", out, "limits", limits())));
    }

    @Get(uri = "/{id}/images", produces = MediaType.APPLICATION_JSON)
    HttpResponse<byte[]> images(@PathVariable String id, @QueryValue(defaultValue = "0") int offset,
                                @QueryValue(defaultValue = "48") int limit) {
        return find(id).<HttpResponse<byte[]>>map(state -> {
            int from = Math.max(0, Math.min(offset, state.total()));
            int to = Math.min(state.total(), from + Math.max(1, Math.min(limit, MAX_PAGE)));
            List<Manifest.Image> page = coordinator.images(state, from, to);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("batchId", state.batchId());
            body.put("batch", summary(state));
            body.put("total", state.total());
            body.put("offset", from);
            body.put("images", page);
            return HttpResponse.ok(Json.toBytes(body));
        }).orElseGet(() -> missing(id));
    }

    @Post(consumes = MediaType.ALL, produces = MediaType.APPLICATION_JSON)
    HttpResponse<byte[]> submit(@Body @Nullable byte[] body) {
        RenderRequest request;
        try {
            request = Json.renderRequest(body == null ? new byte[0] : body);
        } catch (MessageDecodeException e) {
            String field = e.field() != null ? e.field() : "request";
            String message = e.field() != null ? e.getMessage().substring(e.field().length() + 2) : e.getMessage();
            return violations(List.of(new Violation(field, message)));
        } catch (IllegalArgumentException e) {
            return violations(List.of(new Violation("request", e.getMessage())));
        }
        List<Violation> violations = validator.validate(request);
        if (!violations.isEmpty()) {
            return violations(violations);
        }
        RenderRequest sent = client.submit(request);
        return HttpResponse.accepted().body(Json.toBytes(Map.of("batchId", sent.batchId())));
    }

    @Post(uri = "/{id}/cancel", consumes = MediaType.ALL, produces = MediaType.APPLICATION_JSON)
    HttpResponse<byte[]> cancel(@PathVariable String id) {
        if (!BatchIds.isValid(id)) {
            return invalidId();
        }
        client.cancel(id, "cancelled from the web page");
        return HttpResponse.accepted().body(Json.toBytes(Map.of("batchId", id)));
    }

    private java.util.Optional<BatchSummary> find(String id) {
        return BatchIds.isValid(id) ? coordinator.batch(id) : java.util.Optional.empty();
    }

    private HttpResponse<byte[]> missing(String id) {
        if (!BatchIds.isValid(id)) {
            return invalidId();
        }
        return HttpResponse.<byte[]>notFound().body(Json.toBytes(Map.of("error",
                "no batch " + id + " on this coordinator (owned partitions " + coordinator.ownedPartitions() + ")")));
    }

    static HttpResponse<byte[]> invalidId() {
        return HttpResponse.<byte[]>badRequest().body(Json.toBytes(Map.of("error",
                "batch ids are 1 to 64 of A-Z a-z 0-9 _ -")));
    }

    private static HttpResponse<byte[]> violations(List<Violation> violations) {
        String reason = String.join("; ", violations.stream().map(Violation::toString).toList());
        return HttpResponse.<byte[]>badRequest().body(Json.toBytes(Map.of("reason", reason, "violations", violations)));
    }

    private Map<String, Object> limits() {
        var l = validator.limits();
        return Map.of("maxImages", l.maxImages(), "maxSteps", l.maxSteps(), "maxWidth", l.maxWidth(),
                "maxHeight", l.maxHeight(), "minSize", l.minSize(), "schedulers", io.latentfarm.common.SchedulerRegistry.names());
    }

    private static Map<String, Object> summary(BatchSummary s) {
        RenderRequest r = s.request();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("batchId", s.batchId());
        m.put("status", s.status());
        m.put("done", s.done());
        m.put("total", s.total());
        m.put("prompts", r.prompts());
        m.put("negativePrompt", r.negativePrompt());
        m.put("width", r.width());
        m.put("height", r.height());
        m.put("steps", r.steps());
        m.put("guidance", r.guidance());
        // no scheduler in the request: each worker uses its model's own
        m.put("scheduler", r.scheduler() != null ? r.scheduler() : "model default");
        m.put("seed", r.seed());
        m.put("seedMode", r.seedMode());
        m.put("rows", r.gridRows());
        m.put("cols", r.gridCols());
        m.put("acceptedAt", s.acceptedAt());
        m.put("completedAt", s.completedAt());
        m.put("reason", s.reason());
        m.put("hasGrid", s.gridKey() != null);
        m.put("hasManifest", s.manifestKey() != null);
        m.put("priority", s.priority());
        m.put("released", s.released());
        m.put("inFlight", s.inFlight().size());
        m.put("warnings", s.warnings());
        return m;
    }
}
