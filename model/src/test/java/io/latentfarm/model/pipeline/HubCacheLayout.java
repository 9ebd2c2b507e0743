package io.latentfarm.model.pipeline;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Lays a model folder out as huggingface_hub's cache does: blobs named by their sha256, the
 * snapshot's files as relative symlinks into blobs/, refs/main naming the commit.
 */
public final class HubCacheLayout {
    public static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    private HubCacheLayout() {
    }

    public static Path write(Path cache, String repoId, Path folder) throws IOException {
        Path repo = cache.resolve("models--" + repoId.replace("/", "--"));
        Path snapshot = repo.resolve("snapshots").resolve(COMMIT);
        List<Path> files;
        try (Stream<Path> s = Files.walk(folder)) {
            files = s.filter(Files::isRegularFile)
                    .filter(p -> !folder.relativize(p).startsWith("reference")).toList();
        }
        for (Path f : files) {
            String hash = sha256(f);
            Path blob = repo.resolve("blobs").resolve(hash);
            Files.createDirectories(blob.getParent());
            if (!Files.exists(blob)) Files.copy(f, blob);
            Path link = snapshot.resolve(folder.relativize(f).toString());
            Files.createDirectories(link.getParent());
            Files.createSymbolicLink(link, link.getParent().relativize(blob));
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), COMMIT);
        return snapshot;
    }

    static String sha256(Path f) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(f), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
