package io.latentfarm.coordinator;

import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The web page at {@code /}: one HTML page and its script and style sheet, from the jar (no CDN,
 * no build step). Everything it shows comes from this coordinator's JSON routes and its
 * server-sent events.
 */
@Controller
@Requires(env = CoordinatorApplication.ROLE)
class WebController {
    private static final Map<String, MediaType> ASSETS = Map.of(
            "app.js", MediaType.of("text/javascript;charset=utf-8"),
            "app.css", MediaType.of("text/css;charset=utf-8"));

    @Get(uri = "/", produces = MediaType.TEXT_HTML)
    HttpResponse<byte[]> page() {
        return HttpResponse.ok(read("index.html")).contentType(MediaType.TEXT_HTML_TYPE)
                .header("Cache-Control", "no-cache");
    }

    @Get("/assets/{name}")
    HttpResponse<byte[]> asset(@PathVariable String name) {
        MediaType type = ASSETS.get(name);
        if (type == null) {
            return HttpResponse.notFound();
        }
        return HttpResponse.ok(read(name)).contentType(type).header("Cache-Control", "no-cache");
    }

    private static byte[] read(String name) {
        try (InputStream in = WebController.class.getResourceAsStream("/web/" + name)) {
            if (in == null) {
                throw new IllegalStateException("web/" + name + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
