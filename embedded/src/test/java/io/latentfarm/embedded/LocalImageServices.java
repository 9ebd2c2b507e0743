package io.latentfarm.embedded;

import com.github.dockerjava.api.exception.NotFoundException;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code latentfarm broker} and {@code latentfarm s3} from the project's own CLI image (built by
 * docker/, see docker/README.md) as Testcontainers containers, so the container tests need no
 * registry. Both servers listen on 127.0.0.1 only, hence host networking; {@code --port 0} lets each
 * pick a free port, read back from its ready line. Image: system property
 * {@code latentfarm.test.cliImage}, else {@code LATENTFARM_CLI_IMAGE}, else {@code latentfarm-cli}.
 * The cli module's container test uses it too, through this module's test jar.
 */
public final class LocalImageServices {
    public static final String IMAGE = System.getProperty("latentfarm.test.cliImage",
            System.getenv().getOrDefault("LATENTFARM_CLI_IMAGE", "latentfarm-cli"));

    private LocalImageServices() {
    }

    /** Skips the calling test (never fails it) unless a Docker engine answers and already holds {@link #IMAGE}. */
    public static void assumeImagePresent() {
        assumeTrue(DockerClientFactory.instance().isDockerAvailable(), "no Docker engine answers");
        try {
            DockerClientFactory.instance().client().inspectImageCmd(IMAGE).exec();
        } catch (NotFoundException e) {
            assumeTrue(false, "image " + IMAGE + " is not built (docker/README.md)");
        } catch (RuntimeException e) {
            // Typically Testcontainers' reaper image (testcontainers/ryuk) cannot be pulled.
            assumeTrue(false, "Testcontainers cannot use the engine (without a registry set"
                    + " TESTCONTAINERS_RYUK_DISABLED=true): " + e.getMessage());
        }
    }

    /** A started broker and S3 server; closing stops both. */
    public static final class Running implements AutoCloseable {
        private final GenericContainer<?> broker = broker();
        private final GenericContainer<?> s3 = s3();

        private Running() {
        }

        public String bootstrap() {
            return LocalImageServices.bootstrap(broker);
        }

        public String endpoint() {
            return LocalImageServices.endpoint(s3);
        }

        @Override
        public void close() {
            s3.stop();
            broker.stop();
        }
    }

    /** Both servers, started; the test is skipped (not failed) where the engine or the image is absent. */
    public static Running start() {
        assumeImagePresent();
        Running running = new Running();
        try {
            running.broker.start();
            running.s3.start();
        } catch (RuntimeException e) {
            running.close();
            throw e;
        }
        return running;
    }

    /** A not yet started {@code latentfarm broker} with its data inside the container. */
    private static GenericContainer<?> broker() {
        return service("broker ready", "broker", "--data", "/var/lib/latentfarm/kafka", "--port", "0");
    }

    /** A not yet started {@code latentfarm s3} with {@link EmbeddedS3}'s default bucket and keys. */
    private static GenericContainer<?> s3() {
        return service("s3 ready", "s3", "--data", "/var/lib/latentfarm/s3", "--port", "0",
                "--access-key", EmbeddedS3.DEFAULT_ACCESS_KEY, "--secret-key", EmbeddedS3.DEFAULT_SECRET_KEY);
    }

    /** The started broker's bootstrap address, from its line "broker ready: bootstrap HOST:PORT, ...". */
    private static String bootstrap(GenericContainer<?> broker) {
        return readyValue(broker, "bootstrap ([^,\\s]+)");
    }

    /** The started S3 server's endpoint, from its line "s3 ready: endpoint http://HOST:PORT ...". */
    private static String endpoint(GenericContainer<?> s3) {
        return readyValue(s3, "endpoint (\\S+)");
    }

    private static GenericContainer<?> service(String readyLine, String... command) {
        return new GenericContainer<>(DockerImageName.parse(IMAGE)).withNetworkMode("host").withCommand(command)
                .waitingFor(Wait.forLogMessage(".*" + readyLine + ".*\\n", 1).withStartupTimeout(Duration.ofMinutes(2)));
    }

    private static String readyValue(GenericContainer<?> container, String regex) {
        Matcher m = Pattern.compile(regex).matcher(container.getLogs());
        if (!m.find()) {
            throw new IllegalStateException("no /" + regex + "/ in the logs of " + IMAGE + ":\n" + container.getLogs());
        }
        return m.group(1);
    }
}
