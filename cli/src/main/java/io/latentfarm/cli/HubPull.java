package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.latentfarm.model.files.HfCache;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Downloads the files a Stable Diffusion pipeline needs from a diffusers repository on the
 * Hugging Face Hub into the hub cache, laid out as huggingface_hub lays it out (so diffusers and
 * latentfarm share one copy): {@code blobs/<etag>} (the sha256 for LFS files), written through
 * {@code <etag>.incomplete} and resumed with an HTTP Range; {@code snapshots/<commit>/<path>} as
 * relative symlinks into blobs; {@code refs/<revision>} written last, once every file is in.
 */
final class HubPull {
    static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    /** The components latentfarm loads; the safety checker and feature extractor are not fetched. */
    private static final List<String> COMPONENTS = List.of("unet", "vae", "text_encoder", "tokenizer", "scheduler");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, String> env;
    private final Path cache;
    private final PrintWriter out;
    private final HttpClient http = HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(30)).build();
    private final String endpoint;
    private final String token;

    HubPull(Map<String, String> env, Path cache, PrintWriter out) {
        this.env = env;
        this.cache = cache != null ? cache : HfCache.defaultDir(env);
        this.out = out;
        String e = env.getOrDefault("HF_ENDPOINT", "");
        this.endpoint = (e.isBlank() ? DEFAULT_ENDPOINT : e).replaceAll("/+$", "");
        this.token = token(env);
    }

    /** HF_TOKEN, else the token file {@code huggingface-cli login} writes (HF_TOKEN_PATH or HF_HOME/token). */
    static String token(Map<String, String> env) {
        String t = env.get("HF_TOKEN");
        if (t != null && !t.isBlank()) return t.trim();
        String p = env.get("HF_TOKEN_PATH");
        Path file = p != null && !p.isBlank() ? Path.of(p) : HfCache.homeDir(env).resolve("token");
        try {
            return Files.isRegularFile(file) ? Files.readString(file).trim() : null;
        } catch (IOException e) {
            return null;
        }
    }

    Path cache() {
        return cache;
    }

    /** Pulls {@code repoId} at {@code revision}; returns the snapshot folder. */
    Path pull(String repoId, String revision, String variant) throws IOException, InterruptedException {
        if (!HfCache.isRepoId(repoId)) {
            throw new IllegalArgumentException("model pull: '" + repoId + "' is not a repo id (OWNER/NAME)");
        }
        String offline = env.getOrDefault("HF_HUB_OFFLINE", "");
        if (Set.of("1", "true", "yes", "on").contains(offline.trim().toLowerCase(java.util.Locale.ROOT))) {
            throw new IllegalStateException("model pull: HF_HUB_OFFLINE=" + offline + " forbids downloads; unset it to pull "
                    + repoId + " (models already in the cache " + cache + " load offline)");
        }
        JsonNode info = json(endpoint + "/api/models/" + repoId + "/revision/" + encode(revision), repoId);
        String commit = info.path("sha").asText("");
        if (!HfCache.isCommit(commit)) {
            throw new IOException(repoId + ": the Hub answered no commit for revision " + revision);
        }
        List<String> siblings = new ArrayList<>();
        info.path("siblings").forEach(s -> siblings.add(s.path("rfilename").asText()));
        List<String> wanted = select(repoId, siblings, variant);
        Path repo = HfCache.repoDir(cache, repoId);
        Path snapshot = repo.resolve("snapshots").resolve(commit);
        for (String file : wanted) {
            download(repoId, commit, file, repo, snapshot);
        }
        if (!revision.equals(commit)) {
            // last: a ref pointing at a snapshot means the snapshot is complete
            Path ref = repo.resolve("refs").resolve(revision);
            Files.createDirectories(ref.getParent());
            Path tmp = ref.resolveSibling(ref.getFileName() + ".tmp");
            Files.writeString(tmp, commit);
            Files.move(tmp, ref, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return snapshot;
    }

    /**
     * model_index.json, each used component's JSON configs and tokenizer files, and per component
     * one weights file (or the shards of one): safetensors before .bin, the variant's when asked.
     */
    static List<String> select(String repoId, List<String> siblings, String variant) {
        if (!siblings.contains("model_index.json")) {
            throw new IllegalArgumentException(repoId + " has no model_index.json: not a diffusers pipeline repository");
        }
        Set<String> out = new LinkedHashSet<>();
        out.add("model_index.json");
        for (String c : COMPONENTS) {
            String dir = c + "/";
            List<String> files = siblings.stream().filter(s -> s.startsWith(dir) && s.indexOf('/', dir.length()) < 0).toList();
            files.stream().filter(s -> s.endsWith(".json") && !s.endsWith(".index.json")
                    || c.equals("tokenizer") && s.endsWith(".txt")).forEach(out::add);
            if (c.equals("tokenizer") || c.equals("scheduler")) continue;
            List<String> weights = weights(files, dir, variant);
            if (weights.isEmpty() && variant != null) weights = weights(files, dir, null);
            if (weights.isEmpty()) {
                throw new IllegalArgumentException(repoId + ": no weights file in " + dir
                        + (variant == null ? "" : " (variant " + variant + ")"));
            }
            out.addAll(weights);
        }
        return List.copyOf(out);
    }

    private static List<String> weights(List<String> files, String dir, String variant) {
        String v = variant == null ? "" : "\\." + Pattern.quote(variant);
        for (String ext : List.of("safetensors", "bin")) {
            Pattern single = Pattern.compile(Pattern.quote(dir) + "(diffusion_pytorch_model|model|pytorch_model)" + v + "\\." + ext);
            Pattern shard = Pattern.compile(Pattern.quote(dir) + "(diffusion_pytorch_model|model|pytorch_model)-\\d+-of-\\d+" + v + "\\." + ext);
            for (String stem : List.of("diffusion_pytorch_model", "model", "pytorch_model")) {
                for (String f : files) {
                    if (single.matcher(f).matches() && f.startsWith(dir + stem + ".")) return List.of(f);
                }
            }
            List<String> shards = files.stream().filter(f -> shard.matcher(f).matches()).sorted().toList();
            if (!shards.isEmpty()) {
                List<String> all = new ArrayList<>(shards);
                String index = shards.get(0).replaceAll("-\\d+-of-\\d+(.*)\\." + ext + "$", "$1." + ext + ".index.json");
                if (files.contains(index)) all.add(index);
                return all;
            }
        }
        return List.of();
    }

    private void download(String repoId, String commit, String file, Path repo, Path snapshot)
            throws IOException, InterruptedException {
        Path link = snapshot.resolve(file);
        if (Files.exists(link)) { // present and resolving: already pulled
            out.println("have " + file);
            return;
        }
        URI uri = URI.create(endpoint + "/" + repoId + "/resolve/" + commit + "/" + encodePath(file));
        HttpResponse<Void> head = send(HttpRequest.newBuilder(uri).method("HEAD", HttpRequest.BodyPublishers.noBody()),
                HttpResponse.BodyHandlers.discarding(), repoId, true);
        String linked = head.headers().firstValue("X-Linked-Etag").orElse(null);
        String etag = normalizeEtag(linked != null ? linked : head.headers().firstValue("ETag").orElse(null));
        if (etag == null || !etag.matches("[0-9a-f]{40}|[0-9a-f]{64}")) {
            throw new IOException(uri + ": the Hub sent no usable ETag");
        }
        long size = head.headers().firstValueAsLong(linked != null ? "X-Linked-Size" : "Content-Length").orElse(-1);
        // large (LFS) files redirect to a CDN: fetch from there, without our token
        URI from = head.statusCode() / 100 == 3
                ? uri.resolve(head.headers().firstValue("Location").orElseThrow(() -> new IOException(uri + ": redirect without Location")))
                : uri;
        Path blob = repo.resolve("blobs").resolve(etag);
        if (!Files.exists(blob)) {
            fetch(repoId, file, from, from == uri, blob, size, etag);
        }
        Files.createDirectories(link.getParent());
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, link.getParent().relativize(blob));
        out.println("pulled " + file);
    }

    private void fetch(String repoId, String file, URI from, boolean withToken, Path blob, long size, String etag)
            throws IOException, InterruptedException {
        Files.createDirectories(blob.getParent());
        Path incomplete = blob.resolveSibling(etag + ".incomplete");
        long have = Files.exists(incomplete) ? Files.size(incomplete) : 0;
        HttpRequest.Builder req = HttpRequest.newBuilder(from).GET();
        if (have > 0) req.header("Range", "bytes=" + have + "-");
        HttpResponse<InputStream> res = send(req, HttpResponse.BodyHandlers.ofInputStream(), repoId, withToken);
        boolean resumed = res.statusCode() == 206;
        if (res.statusCode() != 200 && !resumed) {
            res.body().close();
            throw new IOException(from + ": HTTP " + res.statusCode());
        }
        if (have > 0 && resumed) out.println("resuming " + file + " at " + have + " bytes");
        try (InputStream in = res.body();
             OutputStream o = Files.newOutputStream(incomplete, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     resumed ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
             ProgressBar bar = ProgressBar.forTerminal(file)) {
            long done = resumed ? have : 0;
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) >= 0) {
                o.write(buf, 0, n);
                done += n;
                bar.updateBytes(done, size);
            }
        }
        if (size >= 0 && Files.size(incomplete) != size) {
            throw new IOException(file + ": got " + Files.size(incomplete) + " of " + size + " bytes; run the pull again to resume");
        }
        String actual = SHA256.matcher(etag).matches() ? digest(incomplete, "SHA-256", null) : digest(incomplete, "SHA-1",
                ("blob " + Files.size(incomplete) + "\0").getBytes(StandardCharsets.US_ASCII));
        if (!actual.equals(etag)) {
            Files.delete(incomplete);
            throw new IOException(file + ": checksum " + actual + " does not match the Hub's " + etag + "; the partial file was removed, pull again");
        }
        Files.move(incomplete, blob, StandardCopyOption.ATOMIC_MOVE);
    }

    private JsonNode json(String url, String repoId) throws IOException, InterruptedException {
        HttpResponse<String> res = send(HttpRequest.newBuilder(URI.create(url)).GET(),
                HttpResponse.BodyHandlers.ofString(), repoId, true);
        if (res.statusCode() != 200) {
            throw new IOException(url + ": HTTP " + res.statusCode());
        }
        return JSON.readTree(res.body());
    }

    private <T> HttpResponse<T> send(HttpRequest.Builder req, HttpResponse.BodyHandler<T> body, String repoId,
                                     boolean withToken) throws IOException, InterruptedException {
        req.header("User-Agent", "latentfarm").timeout(Duration.ofMinutes(5));
        if (withToken && token != null) req.header("Authorization", "Bearer " + token);
        HttpResponse<T> res = http.send(req.build(), body);
        int code = res.statusCode();
        if (code == 401 || code == 403) {
            String why = res.headers().firstValue("X-Error-Code").orElse("");
            throw new IllegalStateException(repoId + ": " + (why.equals("GatedRepo") ? "a gated repository" : "a private or gated repository")
                    + (token == null ? "; accept its terms on the Hub and set HF_TOKEN (or run huggingface-cli login)"
                    : "; the token in HF_TOKEN has no access to it (accept its terms on the Hub)"));
        }
        if (code == 404) {
            throw new IllegalArgumentException(repoId + ": not found on " + endpoint + " (" + req.build().uri().getPath() + ")");
        }
        return res;
    }

    static String normalizeEtag(String etag) {
        if (etag == null) return null;
        String e = etag.trim();
        if (e.startsWith("W/")) e = e.substring(2);
        return e.replace("\"", "");
    }

    private static String digest(Path file, String algorithm, byte[] prefix) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            if (prefix != null) md.update(prefix);
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) >= 0) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String encodePath(String path) {
        List<String> parts = new ArrayList<>();
        for (String p : path.split("/")) parts.add(encode(p));
        return String.join("/", parts);
    }
}
