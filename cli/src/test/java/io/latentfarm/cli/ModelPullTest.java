package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static io.latentfarm.cli.CliTestSupport.run;
import static io.latentfarm.cli.CliTestSupport.tinyModel;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code latentfarm model pull} against a local server speaking the Hub's URL scheme: the
 * revision API with siblings, resolve URLs with X-Repo-Commit and X-Linked-Etag, a redirect to a
 * CDN path for weights, 401 on a gated repo without a token, and a connection cut halfway through
 * the UNet that a second pull resumes with a Range request. Then {@code generate --model OWNER/NAME}
 * draws the reference image from the cache.
 */
class ModelPullTest {
    private static final String REPO = "someone/tiny-sd-v1";
    private static final String COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    private static final String TOKEN = "hf_testtoken";
    private static final String CUT_FILE = "unet/diffusion_pytorch_model.safetensors";

    private HttpServer server;
    /** Where large files are served from; stopped mid-file to cut the connection, then replaced. */
    private volatile HttpServer cdn;
    private final Map<String, Path> files = new ConcurrentHashMap<>();
    private final Map<String, Path> blobsBySha = new ConcurrentHashMap<>();
    private final List<String> ranges = new CopyOnWriteArrayList<>();
    private volatile boolean cutOnce = true;
    private Map<String, String> savedEnv;

    @BeforeEach
    void startHub() throws Exception {
        Path root = tinyModel();
        try (Stream<Path> s = Files.walk(root)) {
            s.filter(Files::isRegularFile).filter(p -> !root.relativize(p).startsWith("reference"))
                    .forEach(p -> files.put(root.relativize(p).toString().replace('\\', '/'), p));
        }
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
        startCdn();
        savedEnv = ModelCommand.Pull.environment;
    }

    private void startCdn() throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s.createContext("/", this::handle);
        s.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        s.start();
        cdn = s;
    }

    @AfterEach
    void stopHub() {
        ModelCommand.Pull.environment = savedEnv;
        server.stop(0);
        cdn.stop(0);
        ((java.util.concurrent.ExecutorService) cdn.getExecutor()).shutdownNow();
    }

    private String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            if (path.startsWith("/someone/gated/") || path.startsWith("/api/models/someone/gated/")) {
                if (!("Bearer " + TOKEN).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                    ex.getResponseHeaders().add("X-Error-Code", "GatedRepo");
                    ex.sendResponseHeaders(401, -1);
                    return;
                }
                path = path.replace("someone/gated", REPO); // the same files behind the gate
            }
            if (path.equals("/api/models/" + REPO + "/revision/main")) {
                ObjectNode info = new ObjectMapper().createObjectNode().put("id", REPO).put("sha", COMMIT);
                ArrayNode siblings = info.putArray("siblings");
                files.keySet().stream().sorted().forEach(f -> siblings.addObject().put("rfilename", f));
                siblings.addObject().put("rfilename", "safety_checker/model.safetensors");
                send(ex, 200, info.toString().getBytes(StandardCharsets.UTF_8));
                return;
            }
            String prefix = "/" + REPO + "/resolve/" + COMMIT + "/";
            if (path.startsWith(prefix) && files.containsKey(path.substring(prefix.length()))) {
                String name = path.substring(prefix.length());
                Path f = files.get(name);
                ex.getResponseHeaders().add("X-Repo-Commit", COMMIT);
                if (name.endsWith(".safetensors")) { // LFS: the sha256 as linked etag, bytes from the CDN
                    String sha = hash(f, "SHA-256", null);
                    blobsBySha.put(sha, f);
                    ex.getResponseHeaders().add("X-Linked-Etag", "\"" + sha + "\"");
                    ex.getResponseHeaders().add("X-Linked-Size", Long.toString(Files.size(f)));
                    ex.getResponseHeaders().add("Location", "http://127.0.0.1:" + cdn.getAddress().getPort()
                            + "/cdn/" + sha + (name.equals(CUT_FILE) ? "?cut" : ""));
                    ex.sendResponseHeaders(302, -1);
                    return;
                }
                ex.getResponseHeaders().add("ETag", "\"" + hash(f, "SHA-1",
                        ("blob " + Files.size(f) + "\0").getBytes(StandardCharsets.US_ASCII)) + "\"");
                if (ex.getRequestMethod().equals("HEAD")) {
                    ex.getResponseHeaders().add("Content-Length", Long.toString(Files.size(f)));
                    ex.sendResponseHeaders(200, -1);
                    return;
                }
                send(ex, 200, Files.readAllBytes(f));
                return;
            }
            if (path.startsWith("/cdn/") && blobsBySha.containsKey(path.substring(5))) {
                assertNull(ex.getRequestHeaders().getFirst("Authorization"), "the token went to the CDN");
                byte[] all = Files.readAllBytes(blobsBySha.get(path.substring(5)));
                String range = ex.getRequestHeaders().getFirst("Range");
                if (range != null) {
                    ranges.add(range);
                    int from = Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
                    ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (all.length - 1) + "/" + all.length);
                    send(ex, 206, java.util.Arrays.copyOfRange(all, from, all.length));
                    return;
                }
                if ("cut".equals(ex.getRequestURI().getQuery()) && cutOnce) {
                    cutOnce = false;
                    ex.sendResponseHeaders(200, all.length);
                    OutputStream out = ex.getResponseBody();
                    out.write(all, 0, all.length / 2);
                    out.flush();
                    // the connection drops: stopping the server closes it; a new CDN serves the retry
                    HttpServer dropped = cdn;
                    startCdn();
                    dropped.stop(0);
                    ((java.util.concurrent.ExecutorService) dropped.getExecutor()).shutdown();
                    return;
                }
                send(ex, 200, all);
                return;
            }
            ex.sendResponseHeaders(404, -1);
        }
    }

    private static void send(HttpExchange ex, int code, byte[] body) throws IOException {
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(code, -1);
            return;
        }
        ex.sendResponseHeaders(code, body.length);
        ex.getResponseBody().write(body);
    }

    private static String hash(Path f, String algorithm, byte[] prefix) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            if (prefix != null) md.update(prefix);
            return HexFormat.of().formatHex(md.digest(Files.readAllBytes(f)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void pullResumesACutDownloadThenGenerateRunsFromTheCache(@TempDir Path cache) throws IOException {
        ModelCommand.Pull.environment = Map.of("HF_ENDPOINT", endpoint());
        CliTestSupport.Run first = run("model", "pull", REPO, "--cache", cache.toString());
        assertEquals(1, first.code(), "the cut connection fails the first pull: " + first.out());
        Path repo = cache.resolve("models--someone--tiny-sd-v1");
        assertFalse(Files.exists(repo.resolve("refs/main")), "refs/main is written only once every file is in");
        try (Stream<Path> s = Files.list(repo.resolve("blobs"))) {
            assertTrue(s.anyMatch(p -> p.getFileName().toString().endsWith(".incomplete")), "a partial blob stays");
        }

        CliTestSupport.Run second = run("model", "pull", REPO, "--cache", cache.toString());
        assertEquals(0, second.code(), second.err());
        assertEquals(1, ranges.size(), "one resumed request: " + ranges);
        assertNotEquals("bytes=0-", ranges.get(0));
        assertTrue(second.out().contains("resuming " + CUT_FILE), second.out());
        assertEquals(COMMIT, Files.readString(repo.resolve("refs/main")));
        Path snapshot = repo.resolve("snapshots").resolve(COMMIT);
        Path unet = snapshot.resolve(CUT_FILE);
        assertTrue(Files.isSymbolicLink(unet));
        assertEquals(Files.mismatch(files.get(CUT_FILE), unet), -1L, "the resumed blob is the file");
        assertFalse(Files.exists(snapshot.resolve("safety_checker")), "only what the pipeline needs");
        assertTrue(Files.exists(snapshot.resolve("tokenizer/merges.txt")));

        // offline from here: a pull is refused, generate runs from the cache
        ModelCommand.Pull.environment = Map.of("HF_ENDPOINT", endpoint(), "HF_HUB_OFFLINE", "1");
        CliTestSupport.Run offline = run("model", "pull", REPO, "--cache", cache.toString());
        assertEquals(1, offline.code());
        assertTrue(offline.err().contains("HF_HUB_OFFLINE"), offline.err());
        server.stop(0);

        JsonNode c = new ObjectMapper().readTree(tinyModel().resolve("reference/cases.json").toFile())
                .get("pipeline").get("cases").get(0);
        Path out = cache.resolve("out");
        GenerateCommandTest.generateCase(c, out, "--model", REPO, "--cache", cache.toString());
        RgbImage expected = Png.decode(Files.readAllBytes(tinyModel().resolve("reference/" + c.get("png").get(0).asText())));
        byte[] png = Files.readAllBytes(out.resolve("0000.png"));
        GenerateCommandTest.assertWithinOneLevel("generate --model " + REPO, expected, Png.decode(png));
        assertTrue(Png.readParameters(png).orElseThrow().contains("Model: " + REPO), Png.readParameters(png).orElseThrow());
    }

    @Test
    void aGatedRepoWithoutATokenIsOneLineNamingHfToken(@TempDir Path cache) throws IOException {
        ModelCommand.Pull.environment = Map.of("HF_ENDPOINT", endpoint(), "HF_HOME", cache.resolve("home").toString());
        CliTestSupport.Run r = run("model", "pull", "someone/gated", "--cache", cache.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("latentfarm: someone/gated: a gated repository") && r.err().contains("HF_TOKEN")
                && r.err().strip().lines().count() == 1, r.err());
        // the token file huggingface-cli login writes is used as the bearer token
        Files.createDirectories(cache.resolve("home"));
        Files.writeString(cache.resolve("home/token"), TOKEN + "\n");
        cutOnce = false;
        CliTestSupport.Run withToken = run("model", "pull", "someone/gated", "--cache", cache.toString());
        assertEquals(0, withToken.code(), withToken.err());
        assertTrue(Files.isRegularFile(cache.resolve("models--someone--gated/refs/main")));
    }

    @Test
    void aRepoIdNotInTheCacheNamesThePullCommand(@TempDir Path cache) {
        CliTestSupport.Run r = run("generate", "--model", "CompVis/stable-diffusion-v1-4", "--cache", cache.toString(),
                "--prompt", "x", "--out", cache.resolve("out").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("latentfarm model pull CompVis/stable-diffusion-v1-4"), r.err());
    }
}
