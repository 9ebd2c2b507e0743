package io.latentfarm.cli;

import io.latentfarm.embedded.EmbeddedS3;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code latentfarm s3}: the embedded S3-compatible server (S3Proxy, filesystem store) that
 * {@code local} uses, as a foreground service. Objects stay in {@code --data} across restarts;
 * SIGTERM or Ctrl-C stops it cleanly.
 */
@Command(name = "s3", mixinStandardHelpOptions = true,
        description = "Run an S3-compatible server on 127.0.0.1 in the foreground, objects kept in --data.")
final class S3Command implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "The server's data folder (objects under buckets/BUCKET/KEY).")
    Path data;

    @Option(names = "--port", defaultValue = "9000", paramLabel = "P", description = "HTTP port on 127.0.0.1 (default ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--bucket", defaultValue = EmbeddedS3.DEFAULT_BUCKET, paramLabel = "NAME", description = "Bucket created if missing (default ${DEFAULT-VALUE}).")
    String bucket;

    @Option(names = "--access-key", defaultValue = EmbeddedS3.DEFAULT_ACCESS_KEY, paramLabel = "K", description = "Access key clients sign with (default ${DEFAULT-VALUE}).")
    String accessKey;

    @Option(names = "--secret-key", defaultValue = EmbeddedS3.DEFAULT_SECRET_KEY, paramLabel = "S", description = "Secret key clients sign with (default: the one `local` uses).")
    String secretKey;

    @Override
    public Integer call() throws Exception {
        EmbeddedS3 s3 = EmbeddedS3.start(data, port, bucket, accessKey, secretKey);
        return ForegroundService.serve(spec.commandLine().getOut(), s3,
                "s3 ready: endpoint " + s3.endpoint() + " (path-style, region us-east-1), bucket " + s3.bucket()
                        + ", data in " + s3.dataDir());
    }
}
