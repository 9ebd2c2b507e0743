package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.message.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code latentfarm local}'s stack (real broker, S3 server, coordinator and worker on the fixture
 * model) seen from outside: the coordinator's HTTP routes and metrics after a batch, and the web
 * page in headless Chromium (skipped where Debian's chromium and chromium-driver are not installed).
 * Everything the process logs meanwhile is checked for the S3 secret key.
 */
class WebPageTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Duration WAIT = Duration.ofSeconds(120);

    @TempDir
    static Path dir;
    static LocalStack stack;
    static URI web;
    static PrintStream stdout;
    static PrintStream stderr;
    static final ByteArrayOutputStream LOGS = new ByteArrayOutputStream();
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        // Loggers write to whatever System.err (or System.out) is at the time of each line.
        stdout = System.out;
        stderr = System.err;
        System.setOut(new PrintStream(new TeeStream(stdout, LOGS), true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new TeeStream(stderr, LOGS), true, StandardCharsets.UTF_8));
        stack = new LocalStack(dir.resolve("data"), ModelOptions.of(CliTestSupport.tinyModel()), null, null, 0);
        stack.awaitModel(WAIT);
        web = stack.web();
    }

    @AfterAll
    static void stop() {
        try {
            if (stack != null) stack.close();
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
        if (stack == null) {
            return; // start() failed and says why
        }
        String logs = LOGS.toString(StandardCharsets.UTF_8);
        assertTrue(logs.contains("rendered batch="), "no per-job log line in:\n" + logs);
        assertFalse(logs.contains(stack.s3().secretKey()), "the S3 secret key is in the logs:\n" + logs);
    }

    @Test
    void routesAndMetricsAfterABatch() throws Exception {
        HttpResponse<String> rejected = post("batches", "{\"prompt\":\"x\",\"width\":500,\"steps\":0}");
        assertEquals(400, rejected.statusCode(), rejected.body());
        JsonNode violations = Json.newMapper().readTree(rejected.body()).path("violations");
        assertEquals("steps", violations.path(0).path("field").asText(), rejected.body());
        assertEquals("width", violations.path(1).path("field").asText(), rejected.body());

        // The page's live feed: server-sent events, one per batch event, from the events topic.
        BlockingQueue<String> sse = new LinkedBlockingQueue<>();
        CompletableFuture<HttpResponse<Void>> stream = http.sendAsync(HttpRequest.newBuilder(web.resolve("events"))
                .build(), HttpResponse.BodyHandlers.fromLineSubscriber(new LineCollector(sse)));
        try {
            // The stream says hello once it follows the events; nothing after that is missed.
            long until = System.nanoTime() + WAIT.toNanos();
            String line;
            do {
                line = sse.poll(1, TimeUnit.SECONDS);
                assertTrue(System.nanoTime() < until, "no hello from GET /events");
            } while (line == null || !line.startsWith("event:") || !line.contains("hello"));
            HttpResponse<String> accepted = post("batches", "{\"batchId\":\"web-http\",\"prompt\":\"a red fox\","
                    + "\"rows\":1,\"cols\":2,\"steps\":2,\"width\":64,\"height\":64,\"seed\":7}");
            assertEquals(202, accepted.statusCode(), accepted.body());
            JsonNode state = awaitCompleted("web-http");
            assertEquals(2, state.path("done").asInt(), state.toString());
            List<String> types = new java.util.ArrayList<>();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!types.contains("completed") && System.nanoTime() < deadline) {
                String next = sse.poll(1, TimeUnit.SECONDS);
                if (next != null && next.startsWith("data:")) {
                    JsonNode e = Json.newMapper().readTree(next.substring(5));
                    if (e.path("batchId").asText().equals("web-http")) {
                        types.add(e.path("type").asText());
                    }
                }
            }
            assertEquals("accepted", types.get(0), types.toString());
            assertTrue(types.contains("progress") && types.contains("completed"), types.toString());
        } finally {
            stream.cancel(true);
        }

        HttpResponse<byte[]> image = getBytes("batches/web-http/images/1.png");
        assertEquals(200, image.statusCode());
        assertEquals("image/png", image.headers().firstValue("content-type").orElse(""));
        assertEquals(64, Png.decode(image.body()).width());
        assertEquals(128, Png.decode(getBytes("batches/web-http/grid.png").body()).width());
        assertEquals(404, getBytes("batches/web-http/images/2.png").statusCode());
        assertTrue(get("batches/web-http/manifest.json").body().contains("\"a red fox\""));

        HttpResponse<byte[]> zip = getBytes("batches/web-http/all.zip");
        assertEquals(200, zip.statusCode());
        List<String> names = new java.util.ArrayList<>();
        try (ZipInputStream in = new ZipInputStream(new java.io.ByteArrayInputStream(zip.body()))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                names.add(e.getName());
            }
        }
        assertEquals(List.of("web-http/0000.png", "web-http/0001.png", "web-http/grid.png", "web-http/manifest.json"), names);

        JsonNode page = Json.newMapper().readTree(get("batches/web-http/images?offset=1&limit=5").body());
        assertEquals(1, page.path("images").size(), page.toString());
        assertEquals(1, page.path("images").path(0).path("sliceIndex").asInt(), page.toString());
        assertEquals(LocalStack.WORKER_ID, page.path("images").path(0).path("workerId").asText(), page.toString());

        // The workers view, from the workers' step progress and results.
        JsonNode worker = null;
        for (long deadline = System.nanoTime() + WAIT.toNanos(); System.nanoTime() < deadline; Thread.sleep(100)) {
            worker = Json.newMapper().readTree(get("workers").body()).path("workers").path(0);
            if (worker.path("done").asInt() >= 2) {
                break;
            }
        }
        assertEquals(LocalStack.WORKER_ID, worker.path("id").asText(), String.valueOf(worker));
        assertTrue(worker.path("device").asText().startsWith("cpu"), String.valueOf(worker));
        assertEquals("tiny-sd-v1", worker.path("model").asText(), String.valueOf(worker));
        assertTrue(worker.path("done").asInt() >= 2, String.valueOf(worker));

        String metrics = get("prometheus").body();
        for (String line : List.of("latentfarm_batches_total{status=\"completed\"}", "latentfarm_batches_running ",
                "latentfarm_jobs_retried_total ", "latentfarm_jobs_lag ", "latentfarm_images_rendered_total ",
                "latentfarm_images_failed_total ", "latentfarm_render_seconds_bucket{phase=\"upload\"",
                "latentfarm_unet_step_seconds_count ", "latentfarm_model_load_seconds ", "jvm_memory_used_bytes",
                "process_cpu_usage")) {
            assertTrue(metrics.contains(line), line + " missing from /prometheus:\n" + metrics);
        }
        // What the Grafana dashboard queries exists (the GPU memory gauge only on a GPU).
        for (String m : DashboardTest.queriedMetrics()) {
            assertTrue(m.equals("latentfarm_device_memory_used_bytes") || metrics.contains(m + " ")
                    || metrics.contains(m + "{"), "the dashboard queries " + m + ", not in /prometheus:\n" + metrics);
        }
        assertTrue(value(metrics, "latentfarm_images_rendered_total") >= 2, metrics);
        assertTrue(value(metrics, "latentfarm_batches_total{status=\"completed\"}") >= 1, metrics);
    }

    @Test
    void cancelThroughTheApi() throws Exception {
        assertEquals(202, post("batches", "{\"batchId\":\"web-cancel\",\"prompt\":\"slow\",\"count\":8,"
                + "\"steps\":150,\"width\":64,\"height\":64}").statusCode());
        awaitStatus("web-cancel", "running");
        assertEquals(202, post("batches/web-cancel/cancel", "").statusCode());
        JsonNode state = awaitStatus("web-cancel", "cancelled");
        assertEquals("cancelled from the web page", state.path("reason").asText(), state.toString());
        assertEquals(400, post("batches/not%20an%20id/cancel", "").statusCode());
    }

    @Test
    void submitWatchAndOpenABatchInChromium() throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "no Chromium here: apt-get install chromium chromium-driver");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1300",
                "--user-data-dir=" + Files.createTempDirectory(dir, "chromium"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        WebDriver driver = new ChromeDriver(service, options);
        try {
            WebDriverWait wait = new WebDriverWait(driver, WAIT);
            wait.ignoring(StaleElementReferenceException.class); // the page redraws rows as events come
            driver.get(web.toString());
            wait.until(d -> !d.findElements(By.cssSelector("#live.on")).isEmpty()); // the event stream is open

            type(driver, "f-prompts", "a lighthouse at dusk");
            type(driver, "f-rows", "2");
            type(driver, "f-cols", "2");
            type(driver, "f-steps", "3");
            type(driver, "f-width", "64");
            type(driver, "f-height", "64");
            type(driver, "f-seed", "1024");
            driver.findElement(By.id("submit-button")).click();
            WebElement link = wait.until(d -> d.findElements(By.cssSelector("#submit-status a")).stream().findFirst()
                    .orElse(null));
            String batch = link.getText();

            // The row's progress moves with the events (no reload) until 4/4.
            By progress = By.cssSelector("tr[data-batch='" + batch + "'] .progress-text");
            wait.until(d -> d.findElements(progress).stream().anyMatch(e -> e.getText().equals("4/4")));
            screenshot(driver, "web-batches.png");

            driver.findElement(By.cssSelector("tr[data-batch='" + batch + "'] a.batch-link")).click();
            JavascriptExecutor js = (JavascriptExecutor) driver;
            wait.until(d -> Boolean.TRUE.equals(js.executeScript(
                    "const t = [...document.querySelectorAll('.thumb img')];"
                            + "const g = document.querySelector('#grid img');"
                            + "return t.length === 4 && t.every(i => i.complete && i.naturalWidth > 0)"
                            + " && g !== null && g.complete && g.naturalWidth > 0;")));
            assertEquals(128L, js.executeScript("return document.querySelector('#grid img').naturalWidth;"));
            assertEquals("4/4", driver.findElement(By.id("batch-progress-text")).getText());
            assertTrue(driver.findElement(By.id("manifest-link")).isDisplayed());
            screenshot(driver, "web-batch.png");

            driver.get(web.toString());
            type(driver, "f-prompts", "too wide");
            type(driver, "f-width", "500");
            driver.findElement(By.id("submit-button")).click();
            wait.until(d -> d.findElement(By.id("error-width")).getText().contains("500 is not a multiple of 8"));
            assertEquals("", driver.findElement(By.id("error-height")).getText());
            screenshot(driver, "web-validation.png");
        } finally {
            driver.quit();
        }
    }

    private static void type(WebDriver driver, String id, String text) {
        WebElement e = driver.findElement(By.id(id));
        e.clear();
        e.sendKeys(text);
    }

    private static void screenshot(WebDriver driver, String name) throws Exception {
        Path out = Path.of("target", name);
        Files.createDirectories(out.getParent());
        Files.write(out, ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
    }

    private JsonNode awaitCompleted(String id) throws Exception {
        return awaitStatus(id, "completed");
    }

    /** Polls {@code GET /batches/{id}} until the batch has {@code status}; fails if it ends otherwise. */
    private JsonNode awaitStatus(String id, String status) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            HttpResponse<String> r = get("batches/" + id);
            if (r.statusCode() == 200) {
                JsonNode state = Json.newMapper().readTree(r.body());
                String now = state.path("status").asText();
                if (now.equals(status)) {
                    return state;
                }
                assertEquals("running", now, "batch " + id + " ended otherwise: " + r.body());
            }
            assertTrue(System.nanoTime() < deadline, "batch " + id + " not " + status + " in time: " + r.body());
            Thread.sleep(100);
        }
    }

    private static double value(String metrics, String series) {
        return metrics.lines().filter(l -> l.startsWith(series + " ") || l.startsWith(series + "{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(-1);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(web.resolve(path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<byte[]> getBytes(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(web.resolve(path)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private HttpResponse<String> post(String path, String json) throws Exception {
        return http.send(HttpRequest.newBuilder(web.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Hands each line of a streamed response to a queue. */
    private record LineCollector(BlockingQueue<String> lines) implements java.util.concurrent.Flow.Subscriber<String> {
        @Override
        public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
            lines.add(line);
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onComplete() {
        }
    }

}
