package io.latentfarm.cli;

import io.latentfarm.client.storage.ObjectStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code latentfarm fetch BATCH --out DIR}: copies a batch's images, grid and manifest from the object store. */
@Command(name = "fetch", mixinStandardHelpOptions = true,
        description = "Download a batch's images (0000.png ...), grid.png and manifest.json from the object store.")
final class FetchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    S3Options s3;

    @Parameters(paramLabel = "BATCH", description = "The batch id.")
    String batchId;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder to write into (created if missing).")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        io.latentfarm.common.BatchIds.requireValid(batchId);
        try (ObjectStore store = ObjectStore.open(s3.config())) {
            List<Path> files = BatchWatch.download(store, s3.keys(), batchId, out);
            for (Path f : files) {
                stdout.println("wrote " + f);
            }
        }
        stdout.flush();
        return 0;
    }
}
