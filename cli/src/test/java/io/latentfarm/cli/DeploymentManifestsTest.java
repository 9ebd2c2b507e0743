package io.latentfarm.cli;

import io.latentfarm.common.Topics;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What must hold across docker/compose.yaml, deploy/*.yaml and the services, checked without a
 * Docker engine or a cluster: every environment variable set is one the role reads (its bean
 * factory's settings, its configuration file, the launcher, logback), every probe and healthcheck
 * reaches a port and path the role serves, every referenced object exists, the coordinator's
 * transactional id is stable and the workers have none.
 */
class DeploymentManifestsTest {
    private static final Path ROOT = LauncherProcess.root();
    private static final Pattern ENV_REFERENCE = Pattern.compile("\\$\\{?(LATENTFARM_[A-Z0-9_]+)");
    private static final Set<String> SERVED_PATHS = Set.of("/health", "/health/liveness", "/health/readiness");

    enum Role {
        COORDINATOR("coordinator", "io.latentfarm.coordinator.CoordinatorBeans", "application-coordinator.yml"),
        WORKER("worker", "io.latentfarm.worker.service.WorkerBeans", "application-worker.yml");

        final String name;
        final String beans;
        final String configFile;

        Role(String name, String beans, String configFile) {
            this.name = name;
            this.beans = beans;
            this.configFile = configFile;
        }

        static Role of(List<?> args) {
            assertNotNull(args, "a latentfarm container without a role argument");
            for (Role r : values()) {
                if (args.contains(r.name)) {
                    return r;
                }
            }
            throw new AssertionError("container args " + args + " name no role");
        }
    }

    // ---- what each role reads ----

    /**
     * Environment variables the role reads: its settings ({@link ServiceSettings}: what its configuration
     * classes, bean factory and configuration file name), the launcher's and logback's. A free-form
     * map of settings reads every variable that begins with its name ({@code LATENTFARM_KAFKA_PROPERTIES_*}).
     */
    static Set<String> readBy(Role role) throws Exception {
        Set<String> vars = new TreeSet<>();
        for (ServiceSettings.Setting s : ServiceSettings.all().values()) {
            if (s.roles().contains(role)) {
                vars.add(s.env());
            }
        }
        Map<String, Object> config = loadResource(role.configFile);
        flatten("", config, vars);
        for (String file : List.of("latentfarm", "service/src/main/resources/logback.xml")) {
            Matcher m = ENV_REFERENCE.matcher(Files.readString(ROOT.resolve(file)));
            while (m.find()) {
                vars.add(m.group(1));
            }
        }
        return vars;
    }

    /** Whether {@code var} is one of {@code read}, or begins one of its {@code _*} families. */
    static boolean reads(Set<String> read, String var) {
        return read.contains(var) || read.stream().anyMatch(r -> r.endsWith("_*")
                && var.startsWith(r.substring(0, r.length() - 1)));
    }

    /** Micronaut's environment binding: latentfarm.worker.worker-id from LATENTFARM_WORKER_WORKER_ID. */
    static String envName(String property) {
        return ServiceSettings.envName(property);
    }

    @SuppressWarnings("unchecked")
    private static void flatten(String prefix, Map<String, Object> map, Set<String> out) {
        map.forEach((k, v) -> {
            String key = prefix.isEmpty() ? k : prefix + "." + k;
            if (v instanceof Map<?, ?> m) {
                flatten(key, (Map<String, Object>) m, out);
            } else {
                out.add(envName(key));
                Matcher ref = ENV_REFERENCE.matcher(String.valueOf(v));
                while (ref.find()) {
                    out.add(ref.group(1));
                }
            }
        });
    }

    /** The role's HTTP port: LATENTFARM_HTTP_PORT when set, else its configuration file's default. */
    static int port(Role role, Map<String, String> env) {
        if (env.containsKey("LATENTFARM_HTTP_PORT")) {
            return Integer.parseInt(env.get("LATENTFARM_HTTP_PORT"));
        }
        String port = String.valueOf(path(loadResource(role.configFile), "micronaut", "server", "port"));
        Matcher m = Pattern.compile("\\$\\{LATENTFARM_HTTP_PORT:(\\d+)}").matcher(port);
        assertTrue(m.matches(), role + " port " + port);
        return Integer.parseInt(m.group(1));
    }

    // ---- compose ----

    @Test
    @SuppressWarnings("unchecked")
    void composeSetsWhatTheServicesReadAndStartsInOrder() throws Exception {
        Map<String, Object> services = composeServices("docker/compose.yaml");
        Map<String, Role> roles = checkCompose(services);
        assertEquals(Map.of("coordinator", Role.COORDINATOR, "worker", Role.WORKER, "worker-gpu", Role.WORKER), roles);
        for (String name : roles.keySet()) {
            Map<String, Object> service = (Map<String, Object>) services.get(name);
            if (roles.get(name) == Role.WORKER) {
                Map<String, String> env = strings((Map<String, Object>) service.get("environment"));
                assertTrue(String.valueOf(service.get("volumes")).contains(":" + env.get("LATENTFARM_WORKER_MODEL") + ":ro"),
                        name + " mounts its model read-only at LATENTFARM_WORKER_MODEL");
            }
        }
        Map<String, Object> kafka = (Map<String, Object>) services.get("kafka");
        String logDirs = String.valueOf(((Map<String, Object>) kafka.get("environment")).get("KAFKA_LOG_DIRS"));
        assertTrue(String.valueOf(kafka.get("volumes")).contains(":" + logDirs),
                "Kafka's KAFKA_LOG_DIRS " + logDirs + " is on its volume: " + kafka.get("volumes"));
        Map<String, Object> gpu = (Map<String, Object>) services.get("worker-gpu");
        assertEquals(List.of("gpu"), gpu.get("profiles"));
        assertTrue(String.valueOf(path(gpu, "deploy", "resources", "reservations", "devices")).contains("capabilities=[gpu]"));
    }

    /**
     * The stack without a registry: the same services and settings as compose.yaml, on host networking
     * with a port each, the broker and S3 server where the services look for them.
     */
    @Test
    @SuppressWarnings("unchecked")
    void localComposeDiffersOnlyInImagesAndNetworking() throws Exception {
        Map<String, Object> services = composeServices("docker/compose.local.yaml");
        Map<String, Role> roles = checkCompose(services);
        assertEquals(Map.of("coordinator", Role.COORDINATOR, "worker-1", Role.WORKER, "worker-2", Role.WORKER), roles);
        Set<String> ports = new HashSet<>();
        services.forEach((name, value) -> {
            Map<String, Object> service = (Map<String, Object>) value;
            assertEquals("host", service.get("network_mode"), name + " on host networking");
            assertFalse(service.containsKey("ports"), name + ": nothing to publish on host networking");
            if (roles.containsKey(name)) {
                String port = strings((Map<String, Object>) service.get("environment")).get("LATENTFARM_HTTP_PORT");
                assertNotNull(port, name + " needs a port of its own on host networking");
                assertTrue(ports.add(port), name + " shares port " + port);
            }
        });
        Map<String, Object> registryStack = composeServices("docker/compose.yaml");
        for (String name : roles.keySet()) {
            Map<String, String> env = strings((Map<String, Object>) ((Map<String, Object>) services.get(name)).get("environment"));
            String twin = roles.get(name) == Role.COORDINATOR ? "coordinator" : "worker";
            Map<String, String> twinEnv = strings((Map<String, Object>) ((Map<String, Object>) registryStack.get(twin)).get("environment"));
            // The same settings, but for the HTTP port and the worker's name: on host networking each
            // service needs a port of its own, and all share the host's name.
            Set<String> keys = new TreeSet<>(env.keySet());
            Set<String> twinKeys = new TreeSet<>(twinEnv.keySet());
            keys.removeAll(Set.of("LATENTFARM_HTTP_PORT", "LATENTFARM_WORKER_WORKER_ID"));
            twinKeys.removeAll(Set.of("LATENTFARM_HTTP_PORT", "LATENTFARM_WORKER_WORKER_ID"));
            assertEquals(twinKeys, keys, name + " is set up like compose.yaml's " + twin);
            assertTrue(String.valueOf(((Map<String, Object>) services.get(name)).get("command")).contains(roles.get(name).name));
            assertEquals("127.0.0.1:" + commandPort(services, "broker"), env.get("LATENTFARM_KAFKA_BOOTSTRAP"), name);
            assertEquals("http://127.0.0.1:" + commandPort(services, "s3"), env.get("LATENTFARM_S3_ENDPOINT"), name);
        }
    }

    /** Checks every service of a compose file; returns the latentfarm role services by name. */
    @SuppressWarnings("unchecked")
    private static Map<String, Role> checkCompose(Map<String, Object> services) throws Exception {
        Map<String, Role> roles = new TreeMap<>();
        for (Map.Entry<String, Object> entry : services.entrySet()) {
            String name = entry.getKey();
            Map<String, Object> service = (Map<String, Object>) entry.getValue();
            Map<String, Object> deps = (Map<String, Object>) service.getOrDefault("depends_on", Map.of());
            deps.forEach((dep, cond) -> {
                assertTrue(services.containsKey(dep), name + " depends on unknown " + dep);
                Object condition = ((Map<String, Object>) cond).get("condition");
                if ("service_completed_successfully".equals(condition)) {
                    assertFalse(((Map<String, Object>) services.get(dep)).containsKey("restart"), dep + " runs once");
                } else {
                    assertEquals("service_healthy", condition, name + " -> " + dep);
                    assertNotNull(((Map<String, Object>) services.get(dep)).get("healthcheck"), dep + " has no healthcheck");
                }
            });
            List<?> command = (List<?>) service.get("command");
            boolean roleService = String.valueOf(service.get("image")).startsWith("latentfarm") && command != null
                    && List.of("coordinator", "worker").contains(String.valueOf(command.get(0)));
            if (!roleService) {
                continue;
            }
            Role role = Role.of(command);
            roles.put(name, role);
            Map<String, String> env = strings((Map<String, Object>) service.get("environment"));
            Set<String> read = readBy(role);
            for (String var : env.keySet()) {
                assertTrue(reads(read, var), name + " sets " + var + ", which the " + role.name
                        + " does not read; it reads " + read);
            }
            assertEquals(List.of("CMD", "latentfarm-healthcheck"), path(service, "healthcheck", "test"), name);
            for (Object mapping : (List<Object>) service.getOrDefault("ports", List.of())) {
                String[] parts = String.valueOf(mapping).split(":");
                assertEquals(port(role, env), Integer.parseInt(parts[parts.length - 1]), name + " publishes " + mapping);
            }
            if (role == Role.COORDINATOR) {
                assertFalse(env.getOrDefault("LATENTFARM_COORDINATOR_TRANSACTIONAL_ID", "").isBlank(),
                        name + ": a coordinator needs a stable transactional id");
                assertFalse(service.containsKey("scale") || path(service, "deploy", "replicas") != null,
                        name + ": one coordinator per transactional id");
            } else {
                assertTrue(env.keySet().stream().noneMatch(k -> k.contains("TRANSACTIONAL")),
                        name + ": workers have no transactional id: " + env.keySet());
                assertTrue(String.valueOf(service.get("volumes")).contains(":ro"), name + " mounts its model read-only");
                Duration grace = Duration.parse("PT" + env.get("LATENTFARM_WORKER_SHUTDOWN_GRACE").toUpperCase(Locale.ROOT));
                Duration stop = Duration.parse("PT" + String.valueOf(service.get("stop_grace_period")).toUpperCase(Locale.ROOT));
                assertTrue(stop.compareTo(grace) > 0, name + ": stop_grace_period " + stop + " <= shutdown grace " + grace);
            }
        }
        return roles;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> composeServices(String file) throws IOException {
        return (Map<String, Object>) load(ROOT.resolve(file)).get(0).get("services");
    }

    /** The {@code --port} a service's command gives. */
    @SuppressWarnings("unchecked")
    private static String commandPort(Map<String, Object> services, String name) {
        List<Object> command = (List<Object>) ((Map<String, Object>) services.get(name)).get("command");
        return String.valueOf(command.get(command.indexOf("--port") + 1));
    }

    // ---- Kubernetes ----

    @Test
    @SuppressWarnings("unchecked")
    void kubernetesObjectsReferToEachOtherAndToWhatTheRolesServe() throws Exception {
        Map<String, Object> kustomization = load(ROOT.resolve("deploy/kustomization.yaml")).get(0);
        List<String> resources = (List<String>) kustomization.get("resources");
        try (Stream<Path> files = Files.list(ROOT.resolve("deploy"))) {
            Set<String> yamls = new TreeSet<>(files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml")).toList());
            assertEquals(yamls, new TreeSet<>(resources), "kustomization.yaml lists every manifest");
        }
        Map<String, Map<String, Object>> objects = new LinkedHashMap<>();
        for (String file : resources) {
            for (Map<String, Object> doc : load(ROOT.resolve("deploy").resolve(file))) {
                String name = String.valueOf(path(doc, "metadata", "name"));
                assertNull(objects.put(doc.get("kind") + "/" + name, doc), "duplicate " + doc.get("kind") + "/" + name);
            }
        }
        Map<String, String> configMap = strings((Map<String, Object>) objects.get("ConfigMap/latentfarm").get("data"));
        Set<String> kedaVars = new HashSet<>();
        for (Map<String, Object> so : byKind(objects, "ScaledObject")) {
            String target = String.valueOf(path(so, "spec", "scaleTargetRef", "name"));
            Map<String, Object> deployment = objects.get("Deployment/" + target);
            assertNotNull(deployment, "ScaledObject scales a missing Deployment " + target);
            for (Map<String, Object> trigger : (List<Map<String, Object>>) path(so, "spec", "triggers")) {
                ((Map<String, Object>) trigger.get("metadata")).forEach((k, v) -> {
                    if (k.endsWith("FromEnv")) {
                        kedaVars.add(String.valueOf(v));
                        assertTrue(containerEnv(objects, deployment).containsKey(String.valueOf(v)),
                                "KEDA reads " + v + " from " + target + "'s environment, which lacks it");
                    }
                });
            }
        }
        assertEquals(new Topics(configMap.get("LATENTFARM_KAFKA_TOPIC_PREFIX")).jobs(), configMap.get("KEDA_JOBS_TOPIC"),
                "KEDA's topic is the workers' jobs topic");

        int coordinators = 0;
        int workers = 0;
        for (Map<String, Object> workload : byKind(objects, "StatefulSet", "Deployment")) {
            Map<String, Object> pod = (Map<String, Object>) path(workload, "spec", "template");
            Map<String, Object> labels = (Map<String, Object>) path(pod, "metadata", "labels");
            assertEquals(path(workload, "spec", "selector", "matchLabels"), labels, "selector matches the pod's labels");
            for (Map<String, Object> volume : (List<Map<String, Object>>) path(pod, "spec", "volumes", List.of())) {
                Object claim = path(volume, "persistentVolumeClaim", "claimName");
                if (claim != null) {
                    Map<String, Object> pvc = objects.get("PersistentVolumeClaim/" + claim);
                    assertNotNull(pvc, "missing PersistentVolumeClaim " + claim);
                    assertEquals(List.of("ReadOnlyMany"), path(pvc, "spec", "accessModes"), claim + " is shared read-only");
                }
            }
            for (Map<String, Object> container : (List<Map<String, Object>>) path(pod, "spec", "containers")) {
                Role role = Role.of((List<?>) container.get("args"));
                Map<String, String> env = containerEnv(objects, workload, container);
                Set<String> read = readBy(role);
                for (String var : env.keySet()) {
                    if (!kedaVars.contains(var)) {
                        assertTrue(reads(read, var), workload.get("kind") + " " + role.name + " gets " + var
                                + ", which it does not read");
                    }
                }
                int port = port(role, env);
                Map<String, Integer> ports = new HashMap<>();
                for (Map<String, Object> p : (List<Map<String, Object>>) container.get("ports")) {
                    ports.put(String.valueOf(p.get("name")), (Integer) p.get("containerPort"));
                }
                assertEquals(Map.of("http", port), ports, role.name + " serves HTTP on " + port);
                for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
                    Map<String, Object> get = (Map<String, Object>) path(container, probe, "httpGet");
                    assertNotNull(get, role.name + " has no " + probe);
                    assertTrue(SERVED_PATHS.contains(get.get("path")), probe + " path " + get.get("path"));
                    Object p = get.get("port");
                    assertEquals(port, p instanceof Integer i ? i : ports.get(String.valueOf(p)), probe + " port");
                }
                assertNotNull(path(container, "resources", "requests"), role.name + " resource requests");
                assertNotNull(path(container, "resources", "limits", "memory"), role.name + " memory limit");
                if (role == Role.COORDINATOR) {
                    coordinators++;
                    assertEquals("StatefulSet", workload.get("kind"), "the coordinator's pod name is stable");
                    assertEquals(Map.of("fieldRef", Map.of("fieldPath", "metadata.name")),
                            envSource(container, "LATENTFARM_COORDINATOR_TRANSACTIONAL_ID"),
                            "the coordinator's transactional id is its stable pod name");
                    String serviceName = String.valueOf(path(workload, "spec", "serviceName"));
                    Map<String, Object> headless = objects.get("Service/" + serviceName);
                    assertNotNull(headless, "the StatefulSet's service " + serviceName);
                    assertEquals("None", path(headless, "spec", "clusterIP"), serviceName + " is headless");
                    assertTrue(byKind(objects, "PodDisruptionBudget").stream().anyMatch(
                            pdb -> labels.equals(path(pdb, "spec", "selector", "matchLabels"))), "coordinator PDB");
                } else {
                    workers++;
                    assertTrue(env.keySet().stream().noneMatch(k -> k.contains("TRANSACTIONAL")),
                            "workers have no transactional id: " + env.keySet());
                    assertEquals(1, path(container, "resources", "limits", "nvidia.com/gpu"), "one GPU per worker");
                    assertTrue(String.valueOf(path(pod, "spec", "tolerations")).contains("nvidia.com/gpu"), "GPU toleration");
                    Duration grace = Duration.parse("PT" + env.get("LATENTFARM_WORKER_SHUTDOWN_GRACE").toUpperCase(Locale.ROOT));
                    int termination = (Integer) path(pod, "spec", "terminationGracePeriodSeconds");
                    assertTrue(termination > grace.toSeconds(), "terminationGracePeriodSeconds " + termination
                            + " leaves time for LATENTFARM_WORKER_SHUTDOWN_GRACE " + grace);
                    String model = env.get("LATENTFARM_WORKER_MODEL");
                    assertTrue(((List<Map<String, Object>>) container.get("volumeMounts")).stream().anyMatch(
                            m -> model.startsWith(m.get("mountPath") + "/") && Boolean.TRUE.equals(m.get("readOnly"))),
                            "the model " + model + " is on a read-only mount");
                }
            }
        }
        assertEquals(1, coordinators);
        assertEquals(1, workers);
        for (Map<String, Object> service : byKind(objects, "Service")) {
            Object selector = path(service, "spec", "selector");
            assertTrue(byKind(objects, "StatefulSet", "Deployment").stream().anyMatch(
                    w -> selector.equals(path(w, "spec", "template", "metadata", "labels"))),
                    "Service " + path(service, "metadata", "name") + " selects a workload's pods");
        }
    }

    // ---- helpers ----

    /** The container's environment: its envFrom ConfigMaps and Secrets (which must exist), then env. */
    @SuppressWarnings("unchecked")
    private static Map<String, String> containerEnv(Map<String, Map<String, Object>> objects, Map<String, Object> workload,
                                                    Map<String, Object> container) {
        Map<String, String> env = new LinkedHashMap<>();
        for (Map<String, Object> from : (List<Map<String, Object>>) container.getOrDefault("envFrom", List.of())) {
            for (String kind : List.of("configMapRef", "secretRef")) {
                Object name = path(from, kind, "name");
                if (name != null) {
                    String objectKind = kind.equals("configMapRef") ? "ConfigMap" : "Secret";
                    Map<String, Object> source = objects.get(objectKind + "/" + name);
                    assertNotNull(source, workload.get("kind") + " refers to a missing " + objectKind + " " + name);
                    Object data = source.getOrDefault("data", source.get("stringData"));
                    env.putAll(strings((Map<String, Object>) data));
                }
            }
        }
        for (Map<String, Object> e : (List<Map<String, Object>>) container.getOrDefault("env", List.of())) {
            env.put(String.valueOf(e.get("name")), String.valueOf(e.getOrDefault("value", "")));
        }
        return env;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> containerEnv(Map<String, Map<String, Object>> objects, Map<String, Object> workload) {
        Map<String, String> env = new LinkedHashMap<>();
        for (Map<String, Object> c : (List<Map<String, Object>>) path(workload, "spec", "template", "spec", "containers")) {
            env.putAll(containerEnv(objects, workload, c));
        }
        return env;
    }

    @SuppressWarnings("unchecked")
    private static Object envSource(Map<String, Object> container, String name) {
        return ((List<Map<String, Object>>) container.get("env")).stream().filter(e -> name.equals(e.get("name")))
                .findFirst().map(e -> e.get("valueFrom")).orElse(null);
    }

    private static List<Map<String, Object>> byKind(Map<String, Map<String, Object>> objects, String... kinds) {
        List<Map<String, Object>> out = new ArrayList<>();
        objects.values().forEach(o -> {
            if (List.of(kinds).contains(String.valueOf(o.get("kind")))) {
                out.add(o);
            }
        });
        return out;
    }

    private static Object path(Map<String, Object> map, Object... keys) {
        Object fallback = null;
        Object[] names = keys;
        if (keys.length > 0 && keys[keys.length - 1] instanceof List<?> dflt) {
            fallback = dflt;
            names = java.util.Arrays.copyOf(keys, keys.length - 1);
        }
        Object at = map;
        for (Object k : names) {
            if (!(at instanceof Map<?, ?> m) || !m.containsKey(k)) {
                return fallback;
            }
            at = m.get(k);
        }
        return at;
    }

    private static Map<String, String> strings(Map<String, Object> map) {
        Map<String, String> out = new LinkedHashMap<>();
        if (map != null) {
            map.forEach((k, v) -> out.put(k, String.valueOf(v)));
        }
        return out;
    }

    private static void assertNull(Object o, String message) {
        assertTrue(o == null, message);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> load(Path file) throws IOException {
        List<Map<String, Object>> docs = new ArrayList<>();
        try (InputStream in = Files.newInputStream(file)) {
            for (Object doc : new Yaml(new LoaderOptions()).loadAll(in)) {
                if (doc != null) {
                    docs.add((Map<String, Object>) doc);
                }
            }
        }
        return docs;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> loadResource(String name) {
        try (InputStream in = DeploymentManifestsTest.class.getClassLoader().getResourceAsStream(name)) {
            assertNotNull(in, name + " on the class path");
            return (Map<String, Object>) new Yaml(new LoaderOptions()).load(in);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
