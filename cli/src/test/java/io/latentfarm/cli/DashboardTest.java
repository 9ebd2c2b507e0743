package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.message.Json;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code deploy/grafana/latentfarm.json} is a dashboard whose panels query the metrics the services export. */
class DashboardTest {
    static final Pattern METRIC = Pattern.compile("\\b(latentfarm_[a-z_]+)");

    static Path dashboard() {
        return CliTestSupport.fixtures().getParent().resolve("deploy/grafana/latentfarm.json");
    }

    /** Every latentfarm_* series the dashboard's panels query. */
    static Set<String> queriedMetrics() throws Exception {
        JsonNode d = Json.newMapper().readTree(Files.readAllBytes(dashboard()));
        Set<String> out = new TreeSet<>();
        for (JsonNode panel : d.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                Matcher m = METRIC.matcher(target.path("expr").asText());
                while (m.find()) {
                    out.add(m.group(1));
                }
            }
        }
        return out;
    }

    @Test
    void panelsQueryTheFarmsMetrics() throws Exception {
        JsonNode d = Json.newMapper().readTree(Files.readAllBytes(dashboard()));
        assertEquals("latentfarm", d.path("title").asText());
        List<String> titles = new ArrayList<>();
        for (JsonNode panel : d.path("panels")) {
            titles.add(panel.path("title").asText());
            assertFalse(panel.path("targets").isEmpty(), panel.path("title").asText() + " has no query");
            for (JsonNode target : panel.path("targets")) {
                assertFalse(target.path("expr").asText().isBlank(), panel.toString());
            }
        }
        for (String title : List.of("Images per second", "Queue lag (jobs not yet done)", "UNet step time",
                "Failures and retries", "Running batches")) {
            assertTrue(titles.contains(title), title + " panel missing: " + titles);
        }
        Set<String> metrics = queriedMetrics();
        for (String m : List.of("latentfarm_images_rendered_total", "latentfarm_jobs_lag",
                "latentfarm_unet_step_seconds_bucket", "latentfarm_images_failed_total", "latentfarm_jobs_retried_total",
                "latentfarm_batches_running", "latentfarm_batches_total", "latentfarm_render_seconds_bucket",
                "latentfarm_model_load_seconds")) {
            assertTrue(metrics.contains(m), m + " is not queried: " + metrics);
        }
    }
}
