package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.latentfarm.cli.DeploymentManifestsTest.Role;
import io.micronaut.context.annotation.Property;

import java.io.InputStream;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.net.URL;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Every {@code latentfarm.*} setting of the two services, from what the code binds (the configuration
 * metadata Micronaut writes for each {@code @ConfigurationProperties} class, the bean factories'
 * {@code @Property} parameters) and what each role's {@code application-*.yml} gives a default.
 */
final class ServiceSettings {
    /** A map of free-form keys ({@code latentfarm.kafka.properties.*}) is one setting named with {@code .*}. */
    static final String ANY_KEY = ".*";

    /**
     * @param name        the property, e.g. {@code latentfarm.worker.max-batch}
     * @param description the binding class's Javadoc of it (empty for a factory's {@code @Property})
     * @param roles       the roles that read it
     * @param defaults    each role's default from its yml; a role without one has none
     */
    record Setting(String name, String description, Set<Role> roles, Map<Role, String> defaults) {
        /** Micronaut's environment binding: latentfarm.worker.worker-id <- LATENTFARM_WORKER_WORKER_ID. */
        String env() {
            return name.endsWith(ANY_KEY) ? envName(name.substring(0, name.length() - 2)) + "_*" : envName(name);
        }
    }

    private ServiceSettings() {
    }

    static String envName(String property) {
        return property.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    static SortedMap<String, Setting> all() throws Exception {
        Map<String, Set<Role>> roles = new TreeMap<>();
        Map<String, String> descriptions = new TreeMap<>();
        Map<String, Map<Role, String>> defaults = new TreeMap<>();
        for (URL url : Collections.list(ServiceSettings.class.getClassLoader()
                .getResources("META-INF/spring-configuration-metadata.json"))) {
            JsonNode metadata;
            try (InputStream in = url.openStream()) {
                metadata = new ObjectMapper().readTree(in);
            }
            for (JsonNode p : metadata.path("properties")) {
                String name = p.path("name").asText();
                if (!name.startsWith("latentfarm.")) {
                    continue;
                }
                if (p.path("type").asText().equals("java.util.Map")) {
                    name += ANY_KEY;
                }
                descriptions.put(name, p.path("description").asText("").replaceAll("\\s+", " ").trim());
                Class<?> source = Class.forName(p.path("sourceType").asText());
                for (Role role : Role.values()) {
                    if (reads(role, source)) {
                        roles.computeIfAbsent(name, k -> EnumSet.noneOf(Role.class)).add(role);
                    }
                }
            }
        }
        for (Role role : Role.values()) {
            for (Method m : Class.forName(role.beans).getDeclaredMethods()) {
                for (Annotation[] parameter : m.getParameterAnnotations()) {
                    for (Annotation a : parameter) {
                        if (a instanceof Property p) {
                            roles.computeIfAbsent(p.name(), k -> EnumSet.noneOf(Role.class)).add(role);
                            descriptions.putIfAbsent(p.name(), "");
                        }
                    }
                }
            }
            flatten("", DeploymentManifestsTest.loadResource(role.configFile), (key, value) -> {
                if (key.startsWith("latentfarm.")) {
                    roles.computeIfAbsent(key, k -> EnumSet.noneOf(Role.class)).add(role);
                    defaults.computeIfAbsent(key, k -> new EnumMap<>(Role.class)).put(role, value);
                    descriptions.putIfAbsent(key, "");
                }
            });
        }
        SortedMap<String, Setting> out = new TreeMap<>();
        roles.forEach((name, r) -> out.put(name, new Setting(name, descriptions.get(name), r,
                defaults.getOrDefault(name, Map.of()))));
        return out;
    }

    /**
     * Whether {@code role} binds {@code config}: its bean factory takes it, or it is a class of the
     * role's own package (a filter's or controller's configuration).
     */
    private static boolean reads(Role role, Class<?> config) throws ClassNotFoundException {
        Class<?> beans = Class.forName(role.beans);
        if (config.getPackageName().equals(beans.getPackageName())) {
            return true;
        }
        for (Method m : beans.getDeclaredMethods()) {
            for (Class<?> t : m.getParameterTypes()) {
                if (t.equals(config)) {
                    return true;
                }
            }
        }
        return false;
    }

    @SuppressWarnings("unchecked")
    private static void flatten(String prefix, Map<String, Object> map, java.util.function.BiConsumer<String, String> out) {
        map.forEach((k, v) -> {
            String key = prefix.isEmpty() ? k : prefix + "." + k;
            if (v instanceof Map<?, ?> m) {
                flatten(key, (Map<String, Object>) m, out);
            } else {
                out.accept(key, String.valueOf(v));
            }
        });
    }
}
