package io.latentfarm.embedded;

/**
 * Keeps the embedded servers' INFO chatter (Kafka logs hundreds of lines at startup) out of the
 * user's console. Works for slf4j-simple, the CLI's backend, by setting its per-logger levels as
 * system properties before the servers create their loggers; a level the user set is kept.
 * Applications on another backend (logback under Micronaut) set these loggers to WARN in their
 * own configuration: {@code kafka}, {@code org.apache.kafka}, {@code state.change.logger},
 * {@code org.gaul}; and {@code org.apache.kafka.controller} to ERROR.
 */
final class QuietLogging {
    private static final String PREFIX = "org.slf4j.simpleLogger.log.";

    private QuietLogging() {
    }

    static void forKafka() {
        warn("kafka");
        warn("org.apache.kafka");
        warn("state.change.logger");
        // The controller reports its routine activation on a fresh or restarted node as a warning.
        level("org.apache.kafka.controller", "error");
    }

    static void forS3Proxy() {
        warn("org.gaul"); // S3Proxy and its shaded Jetty
    }

    private static void warn(String logger) {
        level(logger, "warn");
    }

    private static void level(String logger, String level) {
        if (System.getProperty(PREFIX + logger) == null) {
            System.setProperty(PREFIX + logger, level);
        }
    }
}
