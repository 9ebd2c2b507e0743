package io.latentfarm.coordinator;

import io.latentfarm.common.message.Json;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.sse.Event;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;

import java.time.Duration;
import java.util.Map;

/**
 * What moves: {@code GET /events}, every batch event from now on as server-sent events (the
 * events topic's JSON, one {@code data:} line each, named {@code batch}; first a {@code hello} once
 * the stream follows the topic, then a {@code ping} every 15 s, which keeps proxies from closing it), and {@code GET /workers}, the workers seen recently.
 */
@Controller
@Requires(env = CoordinatorApplication.ROLE)
class LiveController {
    /** Events a slow browser may fall behind by before it misses some (it then reloads what it shows). */
    private static final int BUFFER = 1000;

    private final EventFeed feed;

    LiveController(EventFeed feed) {
        this.feed = feed;
    }

    @Get(uri = "/events", produces = MediaType.TEXT_EVENT_STREAM)
    Publisher<Event<String>> events() {
        Flux<Event<String>> events = Flux.create(sink -> {
            Runnable unsubscribe = feed.subscribe(e -> sink.next(Event.of(Json.toJson(e)).name("batch")));
            sink.onDispose(unsubscribe::run);
            sink.next(Event.of("{}").name("hello")); // following from here on: a client may act now
        }, FluxSink.OverflowStrategy.LATEST);
        Flux<Event<String>> pings = Flux.interval(Duration.ofSeconds(15)).map(i -> Event.of("{}").name("ping"));
        return Flux.merge(events.onBackpressureBuffer(BUFFER), pings);
    }

    @Get(uri = "/workers", produces = MediaType.APPLICATION_JSON)
    HttpResponse<byte[]> workers() {
        return HttpResponse.ok(Json.toBytes(Map.of("workers", feed.workers().recent(System.currentTimeMillis()))));
    }
}
