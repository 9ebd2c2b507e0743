package io.latentfarm.cli;

import io.latentfarm.embedded.EmbeddedKafka;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code latentfarm broker}: the embedded single-node KRaft broker that {@code local} uses, as a
 * foreground service (for air-gapped sites and machines without a Kafka image). Data stays in
 * {@code --data} across restarts; SIGTERM or Ctrl-C stops it cleanly.
 */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = "Run a single-node Kafka broker (KRaft) on 127.0.0.1 in the foreground, data kept in --data.")
final class BrokerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "The broker's data folder (formatted on first use, reused after).")
    Path data;

    @Option(names = "--port", defaultValue = "9092", paramLabel = "P", description = "Client port on 127.0.0.1 (default ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Override
    public Integer call() throws Exception {
        EmbeddedKafka kafka = EmbeddedKafka.start(data, port, Map.of());
        return ForegroundService.serve(spec.commandLine().getOut(), kafka,
                "broker ready: bootstrap " + kafka.bootstrapServers() + ", data in " + kafka.dataDir()
                        + ", cluster " + kafka.clusterId());
    }
}
