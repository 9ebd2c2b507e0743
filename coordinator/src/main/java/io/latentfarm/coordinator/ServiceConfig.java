package io.latentfarm.coordinator;

import io.latentfarm.common.Topics;
import io.latentfarm.common.storage.ObjectKeys;
import io.latentfarm.client.storage.ObjectStoreConfig;

import java.net.URI;

/** Reads the settings the coordinator shares with the other services from Micronaut's environment. */
final class ServiceConfig {
    private ServiceConfig() {
    }

    static ObjectStoreConfig objectStore(String endpoint, String region, String bucket, String accessKey,
                                         String secretKey, boolean pathStyle) {
        return new ObjectStoreConfig(blankToNull(endpoint) == null ? null : URI.create(endpoint.trim()), region, bucket,
                blankToNull(accessKey), blankToNull(secretKey), pathStyle);
    }

    static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    static Topics topics(String prefix) {
        return new Topics(prefix == null ? Topics.DEFAULT_PREFIX : prefix);
    }

    static ObjectKeys keys(String prefix) {
        return new ObjectKeys(prefix == null ? "" : prefix);
    }
}
