package io.latentfarm.coordinator;

import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.http.cookie.Cookie;
import io.micronaut.http.cookie.SameSite;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;

/**
 * With {@code latentfarm.http.token} set, every route but {@code /health} wants the token: as
 * {@code Authorization: Bearer TOKEN} (scripts, Prometheus), or in the {@code latentfarm-token}
 * cookie a browser gets by opening {@code /?token=TOKEN} once (so the page's images and event
 * stream, which cannot send headers, work too). Without the setting nothing is asked.
 */
@ServerFilter(ServerFilter.MATCH_ALL_PATTERN)
@Requires(env = CoordinatorApplication.ROLE)
@Requires(property = "latentfarm.http.token")
class TokenFilter {
    static final String COOKIE = "latentfarm-token";

    private final byte[] token;

    TokenFilter(HttpConfig http) {
        this.token = http.token() == null ? new byte[0] : http.token().getBytes(StandardCharsets.UTF_8);
    }

    @RequestFilter
    @Nullable
    MutableHttpResponse<?> check(HttpRequest<?> request) {
        String path = request.getPath();
        if (token.length == 0 || path.equals("/health") || path.startsWith("/health/")) {
            return null;
        }
        String given = request.getParameters().get("token");
        if (given != null && path.equals("/") && matches(given)) {
            Cookie cookie = Cookie.of(COOKIE, given).httpOnly(true).sameSite(SameSite.Strict).path("/");
            return HttpResponse.seeOther(URI.create("/")).cookie(cookie);
        }
        String header = request.getHeaders().getAuthorization().orElse("");
        if (header.startsWith("Bearer ") && matches(header.substring(7).trim())) {
            return null;
        }
        if (request.getCookies().findCookie(COOKIE).map(c -> matches(c.getValue())).orElse(false)) {
            return null;
        }
        return HttpResponse.status(HttpStatus.UNAUTHORIZED)
                .header("WWW-Authenticate", "Bearer realm=\"latentfarm\"")
                .body(Map.of("error", "this coordinator wants its token: Authorization: Bearer TOKEN,"
                        + " or open /?token=TOKEN in a browser"));
    }

    private boolean matches(String given) {
        return MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8));
    }
}
