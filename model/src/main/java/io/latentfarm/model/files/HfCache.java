package io.latentfarm.model.files;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The Hugging Face hub cache as huggingface_hub lays it out, shared with diffusers:
 * {@code models--OWNER--NAME/refs/REV} holds the commit a branch or tag points at,
 * {@code snapshots/COMMIT/} the repository's files (symlinks into {@code blobs/}, named by their
 * sha256 or git hash).
 */
public final class HfCache {
    /** OWNER/NAME as the Hub spells repository ids. */
    public static final Pattern REPO_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    private HfCache() {
    }

    /** {@code HF_HUB_CACHE}, else {@code HF_HOME/hub}, else {@code $XDG_CACHE_HOME/huggingface/hub} or {@code ~/.cache/huggingface/hub}. */
    public static Path defaultDir(Map<String, String> env) {
        String hub = nonBlank(env.get("HF_HUB_CACHE"), env.get("HUGGINGFACE_HUB_CACHE"));
        if (hub != null) return Path.of(expandHome(hub));
        String home = env.get("HF_HOME");
        if (home != null && !home.isBlank()) return Path.of(expandHome(home)).resolve("hub");
        String xdg = env.get("XDG_CACHE_HOME");
        Path cache = xdg != null && !xdg.isBlank() ? Path.of(expandHome(xdg)) : Path.of(System.getProperty("user.home"), ".cache");
        return cache.resolve("huggingface").resolve("hub");
    }

    /** {@code HF_HOME}, else {@code $XDG_CACHE_HOME/huggingface} or {@code ~/.cache/huggingface}: where the login token lives. */
    public static Path homeDir(Map<String, String> env) {
        String home = env.get("HF_HOME");
        if (home != null && !home.isBlank()) return Path.of(expandHome(home));
        String xdg = env.get("XDG_CACHE_HOME");
        Path cache = xdg != null && !xdg.isBlank() ? Path.of(expandHome(xdg)) : Path.of(System.getProperty("user.home"), ".cache");
        return cache.resolve("huggingface");
    }

    public static boolean isRepoId(String s) {
        return REPO_ID.matcher(s).matches() && !s.contains("..") && !s.contains("--");
    }

    public static boolean isCommit(String revision) {
        return COMMIT.matcher(revision).matches();
    }

    /** {@code models--OWNER--NAME}. */
    public static Path repoDir(Path cache, String repoId) {
        return cache.resolve("models--" + repoId.replace("/", "--"));
    }

    /**
     * The snapshot folder of {@code repoId} at {@code revision} (a branch or tag read through
     * {@code refs/}, or a commit), or a one-line error naming the pull command that fetches it.
     */
    public static Path snapshot(Path cache, String repoId, String revision) {
        Path repo = repoDir(cache, repoId);
        String commit = revision;
        if (!isCommit(revision)) {
            Path ref = repo.resolve("refs").resolve(revision);
            if (!Files.isRegularFile(ref)) {
                throw notCached(cache, repoId, revision);
            }
            try {
                commit = Files.readString(ref, StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                throw new ModelException(ref + ": cannot read (" + e.getMessage() + ")", e);
            }
            if (!isCommit(commit)) {
                throw new ModelException(ref + ": not a commit hash ('" + commit + "')");
            }
        }
        Path snapshot = repo.resolve("snapshots").resolve(commit);
        if (!Files.isDirectory(snapshot)) {
            throw notCached(cache, repoId, revision);
        }
        return snapshot;
    }

    private static ModelException notCached(Path cache, String repoId, String revision) {
        return new ModelException(repoId + (revision.equals("main") ? "" : " at revision " + revision)
                + " is not in the Hugging Face cache " + cache + "; fetch it with: latentfarm model pull " + repoId
                + (revision.equals("main") ? "" : " --revision " + revision));
    }

    private static String nonBlank(String a, String b) {
        if (a != null && !a.isBlank()) return a;
        return b != null && !b.isBlank() ? b : null;
    }

    private static String expandHome(String p) {
        return p.startsWith("~/") ? System.getProperty("user.home") + p.substring(1) : p;
    }
}
