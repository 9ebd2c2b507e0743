package io.latentfarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.latentfarm.client.BatchClient;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.common.Topics;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.CancelRequest;
import io.latentfarm.common.message.Json;
import io.latentfarm.embedded.EmbeddedKafka;
import io.latentfarm.embedded.EmbeddedS3;
import io.latentfarm.worker.service.ImageRenderer;
import io.micronaut.context.ApplicationContext;
import io.micronaut.context.RuntimeBeanDefinition;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * docs/kafka.md's examples run as written, in order, against what {@code latentfarm local --serve}
 * runs (the same broker, S3 server and service beans, with flat images instead of the UNet's so that
 * the doc's 512x512 requests take moments): every request and cancel line is sent as the console
 * producer or kcat would send it and ends as the doc says (completed, or cancelled), every
 * {@code ./latentfarm} line exits 0, the documented events have the fields the services write,
 * and the documented object keys are in the bucket. The README's Kafka lines are kafka.md's.
 */
class DocExamplesTest {
    private static final ObjectMapper JSON = Json.newMapper();
    /** {@code KEY|{json}}: a console producer's input line, or kcat's via echo. */
    private static final Pattern RECORD = Pattern.compile("^(?:echo ')?([A-Za-z0-9_-]+)\\|(\\{.*})'?(?:\\s*\\|\\s*kcat -P .*)?$");
    /** {@code KEY  {json}}: a line the console consumer prints. */
    private static final Pattern EVENT = Pattern.compile("^([A-Za-z0-9_-]+) {2,}(\\{.*})$");
    private static final Pattern AWS_S3 = Pattern.compile("^aws --endpoint-url (\\S+) s3 (?:ls|cp) s3://([^/]+)/(\\S+) .*$");
    private static final Pattern OBJECT_TEMPLATE = Pattern.compile("^\\{bucket}/\\{prefix}(batches/\\{batch}/\\S+)");
    private static final Pattern OBJECT_KEY = Pattern.compile("\"(batches/[^\"]+\\.(?:png|json))\"");
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    record Block(String lang, List<String> lines) {
    }

    @Test
    void kafkaMdRunsAsWrittenInOrder() throws Exception {
        Path root = CliTestSupport.fixtures().getParent();
        List<Block> blocks = blocks(Files.readString(root.resolve("docs/kafka.md")));
        // the addresses the examples use: what the doc shows `local --serve` printing
        Map<String, String> printed = new LinkedHashMap<>();
        for (String line : blocks.get(0).lines()) {
            Matcher m = Pattern.compile("^\\s+([A-Za-z0-9 ]+):\\s+(\\S+).*$").matcher(line);
            if (m.matches()) printed.put(m.group(1).trim(), m.group(2));
        }
        assertTrue(String.join("\n", blocks.get(0).lines()).startsWith("./latentfarm local "), "the doc opens with local --serve");

        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
             EmbeddedS3 s3 = EmbeddedS3.start(dir.resolve("s3"));
             ObjectStore store = ObjectStore.open(s3.objectStoreConfig());
             ApplicationContext services = ApplicationContext.builder()
                     .properties(localProperties(kafka, s3))
                     .environments(LocalStack.ROLES)
                     .beanDefinitions(RuntimeBeanDefinition.builder(ImageRenderer.class, () -> new FlatRenderer(5))
                             .singleton(true).replaces(ImageRenderer.class).build())
                     .start();
             BatchClient client = new BatchClient(kafka.bootstrapServers(), Topics.defaults())) {
            assertEquals(s3.bucket(), printed.get("bucket"));
            assertEquals("AWS_ACCESS_KEY_ID=" + s3.accessKey(), printed.get("credentials"));
            Map<String, String> addresses = Map.of(printed.get("Kafka bootstrap"), kafka.bootstrapServers(),
                    printed.get("S3 endpoint"), s3.endpoint().toString());
            Run run = new Run(kafka, client, store, addresses, dir);
            for (Block block : blocks.subList(1, blocks.size())) {
                run.block(block);
            }
            run.awaitAll();
            assertEquals(Set.of("my-batch-0", "my-batch-1", "my-batch-2", "my-batch-3", "my-batch-4", "my-batch-5"),
                    run.outcomes.keySet(), "the batches the doc sends");
            assertTrue(run.checkedEvents >= 4, "the doc's events were compared: " + run.checkedEvents);
            assertTrue(run.checkedObjects >= 3, "the doc's objects were looked up: " + run.checkedObjects);
        }
    }

    /** The README's Kafka example is kafka.md's, line for line (so the test above runs it too). */
    @Test
    void readmeKafkaLinesAreKafkaMds() throws Exception {
        Path root = CliTestSupport.fixtures().getParent();
        String kafkaMd = Files.readString(root.resolve("docs/kafka.md"));
        List<String> readmeLines = new ArrayList<>();
        for (Block b : blocks(Files.readString(root.resolve("README.md")))) {
            if (b.lines().stream().anyMatch(l -> l.startsWith("kafka-console-producer.sh"))) readmeLines.addAll(b.lines());
        }
        assertFalse(readmeLines.isEmpty(), "README has a console producer example");
        for (String line : readmeLines) {
            if (!line.isBlank()) assertTrue(kafkaMd.contains(line), "README line not in docs/kafka.md: " + line);
        }
    }

    /** Runs the doc's lines in order and remembers what each batch should end as. */
    private static final class Run {
        final EmbeddedKafka kafka;
        final BatchClient client;
        final ObjectStore store;
        final Map<String, String> addresses;
        final Path dir;
        /** batch id -> the final event type the doc promises */
        final Map<String, BatchEvent.Type> outcomes = new LinkedHashMap<>();
        final Set<String> awaited = new LinkedHashSet<>();
        int checkedEvents;
        int checkedObjects;

        Run(EmbeddedKafka kafka, BatchClient client, ObjectStore store, Map<String, String> addresses, Path dir) {
            this.kafka = kafka;
            this.client = client;
            this.store = store;
            this.addresses = addresses;
            this.dir = dir;
        }

        void block(Block block) throws Exception {
            if (block.lang().equals("json")) {
                json(String.join("\n", block.lines()));
                return;
            }
            for (String line : logicalLines(block.lines())) {
                line(line);
            }
        }

        /** A JSON example: a cancel decodes as one; a request is sent keyed by its batch id. */
        void json(String text) throws Exception {
            JsonNode node = JSON.readTree(text);
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            if ("cancel".equals(node.path("type").asText())) {
                CancelRequest cancel = Json.cancelRequest(bytes);
                assertEquals("wrong prompt", cancel.reasonOrDefault(), text);
                return;
            }
            send(node.path("batchId").asText(), bytes);
        }

        void line(String line) throws Exception {
            Matcher m;
            if ((m = RECORD.matcher(line)).matches()) {
                byte[] value = m.group(2).getBytes(StandardCharsets.UTF_8);
                if ("cancel".equals(JSON.readTree(value).path("type").asText())) {
                    client.send(m.group(1), value);
                    expectCancelled(m.group(1));
                } else {
                    send(m.group(1), value);
                }
            } else if ((m = EVENT.matcher(line)).matches()) {
                event(m.group(1), m.group(2));
            } else if ((m = AWS_S3.matcher(line)).matches()) {
                assertTrue(addresses.containsKey(m.group(1)), line);
                assertEquals(store.bucket(), m.group(2), line);
                String prefix = m.group(3);
                awaitAll();
                List<String> keys = store.list(prefix);
                assertTrue(keys.contains(prefix + "manifest.json") && keys.contains(prefix + "grid.png")
                        && keys.contains(prefix + "images/0000.png"), line + ": " + keys);
                checkedObjects++;
            } else if ((m = OBJECT_TEMPLATE.matcher(line)).find()) {
                awaitAll();
                String key = m.group(1).replace("{batch}", "my-batch-1");
                assertTrue(store.exists(key), "documented object missing: " + key);
                checkedObjects++;
            } else if (line.startsWith("./latentfarm ")) {
                latentfarm(line);
            } else if (!line.startsWith("kafka-console-producer.sh ") && !line.startsWith("kafka-console-consumer.sh ")
                    && !line.startsWith("kcat -C ") && !line.startsWith("export AWS_")
                    && !line.startsWith("aws configure ") && !line.equals("...")) {
                fail("an example line this test does not know how to run: " + line);
            }
        }

        void send(String batchId, byte[] value) {
            assertFalse(outcomes.containsKey(batchId), "the doc reuses batch id " + batchId);
            client.send(batchId, value);
            outcomes.put(batchId, BatchEvent.Type.COMPLETED);
        }

        void expectCancelled(String batchId) {
            assertTrue(outcomes.containsKey(batchId), "the doc cancels a batch it never sent: " + batchId);
            outcomes.put(batchId, BatchEvent.Type.CANCELLED);
        }

        /** A {@code ./latentfarm} line, in this process, with the running stack's addresses. */
        void latentfarm(String line) throws Exception {
            List<String> args = new ArrayList<>();
            for (String word : words(line.substring("./latentfarm ".length()))) {
                String w = addresses.getOrDefault(word, word);
                args.add(w.matches("out(-\\d+)?/") ? dir.resolve(w).toString() : w);
            }
            String verb = args.get(0);
            String batchId = switch (verb) {
                case "submit" -> args.get(args.indexOf("--batch-id") + 1);
                case "cancel", "status", "fetch" -> args.get(1);
                default -> throw new AssertionError("an example line this test does not know how to run: " + line);
            };
            if (verb.equals("submit")) {
                assertFalse(outcomes.containsKey(batchId), "the doc reuses batch id " + batchId);
                outcomes.put(batchId, BatchEvent.Type.COMPLETED);
            } else if (verb.equals("cancel")) {
                expectCancelled(batchId);
            }
            CliTestSupport.Run r = CliTestSupport.run(args.toArray(String[]::new));
            assertEquals(0, r.code(), line + "\n" + r.out() + r.err());
            if (args.contains("--download") || verb.equals("fetch")) {
                Path out = Path.of(args.get(args.indexOf(verb.equals("fetch") ? "--out" : "--download") + 1));
                assertTrue(Files.isRegularFile(out.resolve("manifest.json")) && Files.isRegularFile(out.resolve("grid.png")),
                        line + ": " + r.out());
            }
        }

        /** A documented event: the services wrote one of its kind, with the same fields and values. */
        void event(String key, String documented) throws Exception {
            awaitAll();
            JsonNode doc = JSON.readTree(elide(documented));
            Set<String> fields = topLevelFields(documented);
            assertEquals(key, doc.path("batchId").asText(), documented);
            List<JsonNode> written = new ArrayList<>();
            // the events topic read whole, read_committed, as the doc's console consumer reads it
            for (ConsumerRecord<String, byte[]> r : kafka.readAll(Topics.defaults().events(), true)) {
                JsonNode e = JSON.readTree(r.value());
                if (key.equals(r.key()) && e.path("type").equals(doc.path("type"))
                        && e.has("jobId") == fields.contains("jobId") && e.has("done") == fields.contains("done")) {
                    written.add(e);
                }
            }
            assertFalse(written.isEmpty(), "no event like " + documented);
            for (JsonNode e : written) {
                Set<String> names = new TreeSet<>();
                e.fieldNames().forEachRemaining(names::add);
                assertEquals(fields, names, "fields of " + e + " vs the doc's " + documented);
                for (String f : List.of("schemaVersion", "batchId", "total", "steps", "bucket", "gridKey", "manifestKey")) {
                    if (doc.has(f)) assertEquals(doc.get(f), e.get(f), f + " of " + e + " vs the doc's " + documented);
                }
                if (!doc.path("type").asText().equals("progress") && doc.has("done")) {
                    assertEquals(doc.get("done"), e.get("done"), documented);
                }
            }
            Matcher keys = OBJECT_KEY.matcher(documented);
            while (keys.find()) {
                assertTrue(store.exists(keys.group(1)), "documented object missing: " + keys.group(1));
            }
            checkedEvents++;
        }

        /** Waits for every batch sent so far to end as the doc says. */
        void awaitAll() {
            for (Map.Entry<String, BatchEvent.Type> e : outcomes.entrySet()) {
                if (awaited.contains(e.getKey())) continue;
                List<BatchEvent> seen = new ArrayList<>();
                try (BatchClient.Events events = client.events(e.getKey(), true)) {
                    BatchEvent last = events.awaitFinal(WAIT, seen::add)
                            .orElseThrow(() -> new AssertionError("no final event for " + e.getKey() + ": " + seen));
                    assertEquals(e.getValue(), last.type(), e.getKey() + ": " + seen);
                }
                awaited.add(e.getKey());
            }
        }
    }

    /** Fenced code blocks, in order, with their language. */
    static List<Block> blocks(String markdown) {
        List<Block> out = new ArrayList<>();
        List<String> current = null;
        String lang = null;
        for (String line : markdown.split("\n", -1)) {
            if (line.startsWith("```")) {
                if (current == null) {
                    current = new ArrayList<>();
                    lang = line.substring(3).trim();
                } else {
                    out.add(new Block(lang, current));
                    current = null;
                }
            } else if (current != null) {
                current.add(line);
            }
        }
        return out;
    }

    /** Lines as a shell and a reader join them: after a trailing backslash, and indented continuations. */
    static List<String> logicalLines(List<String> lines) {
        List<String> out = new ArrayList<>();
        boolean continued = false;
        for (String raw : lines) {
            if (raw.isBlank()) {
                continued = false;
                continue;
            }
            boolean indented = Character.isWhitespace(raw.charAt(0));
            String line = raw.strip();
            boolean next = line.endsWith("\\");
            if (next) line = line.substring(0, line.length() - 1).strip();
            if ((continued || indented) && !out.isEmpty()) {
                out.set(out.size() - 1, out.get(out.size() - 1) + (continued ? " " : "") + line);
            } else {
                out.add(line);
            }
            continued = next;
        }
        return out;
    }

    /** Shell words: blanks separate, single and double quotes group. */
    static List<String> words(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder word = null;
        char quote = 0;
        for (char c : line.toCharArray()) {
            if (quote != 0) {
                if (c == quote) quote = 0;
                else word.append(c);
            } else if (c == '"' || c == '\'') {
                quote = c;
                if (word == null) word = new StringBuilder();
            } else if (Character.isWhitespace(c)) {
                if (word != null) out.add(word.toString());
                word = null;
            } else {
                if (word == null) word = new StringBuilder();
                word.append(c);
            }
        }
        if (word != null) out.add(word.toString());
        return out;
    }

    /** The doc's JSON with its {@code ...} elisions dropped, so that it parses. */
    static String elide(String json) {
        return json.replace("{...,", "{").replace(",...}", "}").replace(",...]", "]").replace("{...}", "{}");
    }

    /** The keys at the top level of a JSON object, read past elisions and nested values. */
    static Set<String> topLevelFields(String json) {
        Set<String> out = new TreeSet<>();
        int depth = 0;
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            if (c == '"') {
                int end = json.indexOf('"', i + 1);
                if (depth == 1 && json.startsWith(":", end + 1)) out.add(json.substring(i + 1, end));
                i = end;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
            }
        }
        return out;
    }

    /** What {@code latentfarm local} configures, with the tiny model's pipeline worker (its renderer replaced above). */
    private static java.util.Map<String, Object> localProperties(EmbeddedKafka kafka, EmbeddedS3 s3) {
        java.util.Map<String, Object> props = LocalStack.properties(kafka, s3, 0);
        props.putAll(LocalStack.pipelineWorker(ModelOptions.of(CliTestSupport.tinyModel()), null, null));
        return props;
    }
}
