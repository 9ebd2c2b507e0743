package io.latentfarm.cli;

import io.latentfarm.common.Topics;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.client.kafka.DeadLetters;
import io.latentfarm.common.message.Json;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.RenderResult;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.common.validation.Violation;
import io.latentfarm.client.BatchClient;
import io.latentfarm.coordinator.Coordinator;
import io.latentfarm.coordinator.CoordinatorSettings;
import io.latentfarm.embedded.EmbeddedKafka;
import io.latentfarm.embedded.EmbeddedS3;
import io.latentfarm.worker.service.JobWorker;
import io.latentfarm.worker.service.WorkerSettings;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bad-input corpus: well over a hundred hostile or broken records on the requests, jobs and
 * results topics of a running coordinator and worker (real broker, real S3 server, a flat-colour
 * renderer), each with the exact outcome it must get: a {@code rejected} event naming the field, a
 * dead letter saying why, or the documented acceptance. Then a good request must still complete, no
 * record a component wrote may be large, and the captured logs must not contain the S3 secret.
 */
class BadInputCorpusTest {
    private static final String SECRET = "corpus-secret-Zx81q";
    private static final String PREFIX = "corpus.";

    @TempDir
    Path dir;

    /** What must become of a record. */
    enum Outcome {
        /** a {@code rejected} event keyed by the record's key, naming the field; no dead letter */
        REJECTED,
        /** a {@code rejected} event naming the field, and a dead letter of the record */
        REJECTED_AND_DEAD_LETTERED,
        /** a dead letter of the record saying why; no event */
        DEAD_LETTERED,
        /** accepted and completed (found by the marker in its prompt) */
        COMPLETED,
        /** no event, no dead letter: a duplicate request, or a result for no running batch */
        IGNORED,
        /** rendered by the worker (a result with the job's id) though no batch takes it */
        RENDERED
    }

    /**
     * @param key      the record key; a rejection is looked for under it (null: under no key)
     * @param field    the field a rejection names
     * @param text     what the rejection or dead letter says (a substring); for COMPLETED the prompt marker
     */
    record Case(String name, String topic, String key, byte[] value, Outcome outcome, String field, String text,
                RecordHeaders headers) {
    }

    private final List<Case> cases = new ArrayList<>();
    private Topics topics;

    // ------------------------------------------------------------------ the corpus

    private void request(String name, String key, String json, Outcome outcome, String field, String text) {
        request(name, key, json == null ? null : json.getBytes(StandardCharsets.UTF_8), outcome, field, text);
    }

    private void request(String name, String key, byte[] value, Outcome outcome, String field, String text) {
        cases.add(new Case(name, topics.requests(), key, value, outcome, field, text, new RecordHeaders()));
    }

    /** A small valid request body of batch {@code id} with {@code extra} JSON members added. */
    private static String body(String id, String extra) {
        return "{\"batchId\":\"" + id + "\",\"prompt\":\"corpus " + id + "\",\"count\":1,\"steps\":1,"
                + "\"width\":64,\"height\":64,\"seed\":1" + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    /** Like {@link #body} without a batch id: {@code extra} may give one, or the key does. */
    private static String bare(String marker, String extra) {
        return "{\"prompt\":\"corpus " + marker + "\",\"count\":1,\"steps\":1,\"width\":64,\"height\":64,\"seed\":1"
                + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    private void job(String name, String key, String json, Outcome outcome, String text) {
        job(name, key, json.getBytes(StandardCharsets.UTF_8), outcome, text);
    }

    private void job(String name, String key, byte[] value, Outcome outcome, String text) {
        cases.add(new Case(name, topics.jobs(), key, value, outcome, null, text, new RecordHeaders()));
    }

    private void result(String name, String key, String json, Outcome outcome, String text) {
        cases.add(new Case(name, topics.results(), key, json == null ? null : json.getBytes(StandardCharsets.UTF_8),
                outcome, null, text, new RecordHeaders()));
    }

    /** A valid job of batch {@code batch}, image {@code index} of {@code total}, as JSON members to edit. */
    private static Map<String, Object> jobFields(String batch, int index, int total) {
        RenderRequest r = RenderRequest.builder().batchId(batch).prompt("corpus job " + batch).count(total)
                .steps(1).size(64, 64).seed(3L).build();
        RenderJob j = RenderJob.forImage(r, index, "batches/" + batch + "/images/" + String.format("%04d", index) + ".png");
        @SuppressWarnings("unchecked")
        Map<String, Object> fields = Json.read(Json.toBytes(j), HashMap.class);
        return fields;
    }

    private static String json(Map<String, Object> fields) {
        return Json.toJson(fields);
    }

    private static Map<String, Object> with(Map<String, Object> fields, String name, Object value) {
        Map<String, Object> copy = new HashMap<>(fields);
        if (value == null) {
            copy.remove(name);
        } else {
            copy.put(name, value);
        }
        return copy;
    }

    private static String repeat(String s, int n) {
        return s.repeat(n);
    }

    private static String nested(int depth) {
        return "[".repeat(depth) + "]".repeat(depth);
    }

    private void buildCorpus() {
        Outcome rej = Outcome.REJECTED;
        Outcome rejDlq = Outcome.REJECTED_AND_DEAD_LETTERED;
        // ---- requests: not JSON
        request("garbage", "r-garbage", "{\"prompt\": \"x\",, oops", rejDlq, "request", "not valid JSON");
        request("empty", "r-empty", new byte[0], rejDlq, "request", "empty message");
        request("null-value", "r-nullvalue", (byte[]) null, rejDlq, "request", "empty message");
        request("json-null", "r-jsonnull", "null", rejDlq, "request", "null, expected");
        request("array", "r-array", "[1,2,3]", rejDlq, "request", "");
        request("string", "r-string", "\"just a string\"", rejDlq, "request", "");
        request("number", "r-number", "42", rejDlq, "request", "");
        request("binary", "r-binary", new byte[]{(byte) 0xff, (byte) 0xfe, 0, 1, 2, (byte) 0x80}, rejDlq, "request",
                "not valid JSON");
        byte[] megabyte = new byte[1_000_000];
        Arrays.fill(megabyte, (byte) 'x');
        request("megabyte-not-json", "r-megabyte", megabyte, rejDlq, "request", "1000000 bytes is more than the 262144");
        request("trailing-garbage", "r-trailing", body("r-trailing", "") + " extra", rejDlq, "request", "not valid JSON");
        request("bad-utf8", "r-badutf8", new byte[]{'{', '"', 'p', 'r', 'o', 'm', 'p', 't', '"', ':', '"', (byte) 0xc3,
                '(', '"', '}'}, rejDlq, "prompt", "Invalid UTF-8 middle byte");
        request("unclosed", "r-unclosed", "{\"prompt\":\"x\"", rejDlq, "request", "not valid JSON");
        request("single-quotes", "r-quotes", "{'prompt':'x'}", rejDlq, "request", "not valid JSON");
        request("comment", "r-comment", "/* hi */ " + body("r-comment", ""), rejDlq, "request", "not valid JSON");
        // ---- requests: wrong types
        request("steps-string", "r-steps-s", body("r-steps-s", "\"steps\":\"many\"").replace("\"steps\":1,", ""),
                rejDlq, "steps", "");
        request("steps-float", "r-steps-f", bare("r-steps-f", "\"batchId\":\"r-steps-f\"").replace("\"steps\":1", "\"steps\":1.5"),
                rejDlq, "steps", "");
        request("prompt-object", "r-prompt-o", "{\"prompt\":{\"a\":1}}", rejDlq, "prompt[0]", "from Object value");
        request("prompts-object", "r-prompts-o", "{\"prompts\":{\"a\":\"b\"}}", rejDlq, "prompts[0]", "from Object value");
        request("guidance-word", "r-guid-w", bare("r-guid-w", "\"guidance\":\"high\""), rejDlq, "guidance", "");
        request("seed-word", "r-seed-w", bare("r-seed-w", "").replace("\"seed\":1", "\"seed\":\"abc\""), rejDlq,
                "seed", "");
        request("width-array", "r-width-a", bare("r-width-a", "").replace("\"width\":64", "\"width\":[]"), rejDlq,
                "width", "");
        request("count-object", "r-count-o", bare("r-count-o", "").replace("\"count\":1", "\"count\":{}"), rejDlq,
                "count", "");
        request("schema-huge", "r-schema-h", bare("r-schema-h", "\"schemaVersion\":99999999999"), rejDlq,
                "schemaVersion", "");
        request("seed-overflow", "r-seed-o", bare("r-seed-o", "").replace("\"seed\":1", "\"seed\":9223372036854775808"),
                rejDlq, "seed", "");
        request("both-prompt-and-prompts", "r-both", "{\"prompt\":\"a\",\"prompts\":[\"b\"]}", rejDlq, "request",
                "not both");
        // ---- requests: schema versions
        request("schema-negative", "r-schema-n", bare("r-schema-n", "\"schemaVersion\":-1"), rejDlq, "schemaVersion",
                "-1 is outside 1..1");
        request("schema-newer", "r-schema-2", bare("r-schema-2", "\"schemaVersion\":2"), rejDlq, "schemaVersion",
                "newer");
        // ---- requests: out of range
        request("steps-zero", "r-steps-0", body("r-steps-0", "").replace("\"steps\":1", "\"steps\":0"), rej, "steps",
                "0 is outside 1..150");
        request("steps-100000", "r-steps-big", body("r-steps-big", "").replace("\"steps\":1", "\"steps\":100000"), rej,
                "steps", "100000 is outside 1..150");
        request("steps-negative", "r-steps-neg", body("r-steps-neg", "").replace("\"steps\":1", "\"steps\":-1"), rej,
                "steps", "-1 is outside");
        request("width-not-8", "r-width-100", body("r-width-100", "").replace("\"width\":64", "\"width\":100"), rej,
                "width", "not a multiple of 8");
        request("width-tiny", "r-width-8", body("r-width-8", "").replace("\"width\":64", "\"width\":8"), rej, "width",
                "8 is outside 64..1024");
        request("height-huge", "r-height-big", body("r-height-big", "").replace("\"height\":64", "\"height\":99992"),
                rej, "height", "outside 64..1024");
        request("guidance-negative", "r-guid-neg", body("r-guid-neg", "\"guidance\":-1"), rej, "guidance",
                "-1 is outside 0..30");
        request("guidance-1e308", "r-guid-big", body("r-guid-big", "\"guidance\":1e308"), rej, "guidance", "outside");
        request("guidance-1e400", "r-guid-inf", body("r-guid-inf", "\"guidance\":1e400"), rej, "guidance",
                "Infinity is outside");
        request("count-zero", "r-count-0", body("r-count-0", "").replace("\"count\":1", "\"count\":0"), rej, "count",
                "0 is outside 1..1000000");
        request("count-1000001", "r-count-big", body("r-count-big", "").replace("\"count\":1", "\"count\":1000001"),
                rej, "count", "1000001 is outside 1..1000000");
        request("grid-huge", "r-grid-big", body("r-grid-big", "\"rows\":1001,\"cols\":1000").replace("\"count\":1,", ""),
                rej, "rows", "1001 x 1000 = 1001000 images is more than 1000000");
        request("rows-alone", "r-rows", body("r-rows", "\"rows\":2").replace("\"count\":1,", ""), rej, "cols",
                "required with rows");
        request("count-mismatch", "r-count-x", body("r-count-x", "\"rows\":2,\"cols\":2").replace("\"count\":1", "\"count\":3"),
                rej, "count", "does not match rows x cols");
        request("seed-negative", "r-seed-neg", body("r-seed-neg", "").replace("\"seed\":1", "\"seed\":-5"), rej, "seed",
                "-5 is outside");
        request("seedmode-unknown", "r-seedmode", body("r-seedmode", "\"seedMode\":\"sideways\""), rej, "seedMode",
                "\"sideways\" is not one of");
        request("scheduler-unknown", "r-sched", body("r-sched", "\"scheduler\":\"nope\""), rej, "scheduler",
                "\"nope\" is not one of");
        request("scheduler-200k", "r-sched-big", body("r-sched-big", "\"scheduler\":\"" + repeat("x", 200_000) + "\""),
                rej, "scheduler", "...\" (200000 characters) is not one of");
        request("scheduler-600k", "r-sched-600k", body("r-sched-600k", "\"scheduler\":\"" + repeat("x", 600_000) + "\""),
                rejDlq, "request", "is more than the 262144 a request may have");
        request("batchid-200k", "r-bid-big", bare("r-bid-big", "\"batchId\":\"" + repeat("b", 200_000) + "\""), rej,
                "batchId", "(200000 characters) must be 1 to 64");
        request("type-200k", "r-type-big", bare("r-type-big", "\"type\":\"" + repeat("t", 200_000) + "\""), rejDlq,
                "type", "(200000 characters); expected");
        request("prompt-2001", "r-prompt-long", "{\"batchId\":\"r-prompt-long\",\"prompt\":\"" + repeat("p", 2001)
                + "\",\"count\":1,\"steps\":1,\"width\":64,\"height\":64}", rej, "prompt", "2001 characters is more than 2000");
        request("negative-prompt-5000", "r-neg-long", body("r-neg-long", "\"negativePrompt\":\"" + repeat("n", 5000) + "\""),
                rej, "negativePrompt", "5000 characters is more than 2000");
        request("prompts-100-count-150", "r-prompts-100", "{\"batchId\":\"r-prompts-100\",\"prompts\":["
                + String.join(",", java.util.Collections.nCopies(100, "\"p\"")) + "],\"count\":150,\"steps\":1}", rej,
                "prompts", "100 prompts do not divide 150 images evenly");
        request("prompts-null-entry", "r-prompts-null", "{\"batchId\":\"r-prompts-null\",\"prompts\":[null,\"a\"],\"steps\":1}",
                rej, "prompts[0]", "required");
        request("prompts-empty", "r-prompts-empty", "{\"batchId\":\"r-prompts-empty\",\"prompts\":[]}", rej, "prompt",
                "required");
        request("empty-object", "r-empty-obj", "{}", rej, "prompt", "required");
        request("model-empty", "r-model-empty", body("r-model-empty", "\"model\":\"\""), rej, "model",
                "1 to 256 characters");
        request("model-300", "r-model-long", body("r-model-long", "\"model\":\"" + repeat("m", 300) + "\""), rej,
                "model", "1 to 256 characters");
        request("50000-null-prompts", "r-nulls", "{\"batchId\":\"r-nulls\",\"prompts\":["
                + String.join(",", java.util.Collections.nCopies(50_000, "null")) + "]}", rej, "prompts[0]",
                "more violations not listed");
        // ---- requests: deep nesting
        request("nesting-1001", "r-nest-1001", body("r-nest-1001", "\"extra\":" + nested(1001)), rejDlq, "request",
                "nesting depth (1001) exceeds the maximum allowed (1000");
        request("nesting-100000", "r-nest-big", body("r-nest-big", "\"extra\":" + nested(100_000)), rejDlq, "request",
                "nesting depth");
        request("top-level-deep-array", "r-nest-top", nested(50_000), rejDlq, "request", "from Array value");
        request("nesting-in-unknown-field", "r-nest-ok", body("r-nest-ok", "\"extra\":" + nested(500)),
                Outcome.COMPLETED, null, "corpus r-nest-ok");
        request("nesting-in-prompt-500", "r-nest-500", "{\"prompt\":" + nested(500) + "}", rejDlq, "prompt[0]",
                "from Array value");
        // ---- requests: NaN and Infinity
        request("guidance-NaN-token", "r-nan", body("r-nan", "\"guidance\":NaN"), rejDlq, "request", "NaN");
        request("guidance-Infinity-token", "r-inf", body("r-inf", "\"guidance\":Infinity"), rejDlq, "request",
                "Infinity");
        request("guidance-minus-Infinity", "r-minf", body("r-minf", "\"guidance\":-Infinity"), rejDlq, "request",
                "Infinity");
        request("guidance-NaN-string", "r-nan-s", body("r-nan-s", "\"guidance\":\"NaN\""), rej, "guidance",
                "NaN is outside");
        request("steps-NaN-token", "r-steps-nan", body("r-steps-nan", "").replace("\"steps\":1", "\"steps\":NaN"),
                rejDlq, "request", "NaN");
        // ---- requests: surrogates and control characters
        request("lone-surrogate-prompt", "r-surrogate", "{\"batchId\":\"r-surrogate\",\"prompt\":\"a\\ud800b\","
                + "\"count\":1,\"steps\":1,\"width\":64,\"height\":64}", rej, "prompt", "unpaired UTF-16 surrogate at character 1");
        request("lone-low-surrogate-negative", "r-surrogate-n", body("r-surrogate-n", "\"negativePrompt\":\"\\udc00\""),
                rej, "negativePrompt", "unpaired UTF-16 surrogate");
        request("emoji-prompt", "r-emoji", "{\"batchId\":\"r-emoji\",\"prompt\":\"corpus r-emoji \\ud83d\\ude00\","
                + "\"count\":1,\"steps\":1,\"width\":64,\"height\":64,\"seed\":1}", Outcome.COMPLETED, null, "corpus r-emoji");
        request("control-chars-prompt", "r-ctrl", "{\"batchId\":\"r-ctrl\",\"prompt\":\"corpus r-ctrl \\u0000\\u0001\\n\\t\","
                + "\"count\":1,\"steps\":1,\"width\":64,\"height\":64,\"seed\":1}", Outcome.COMPLETED, null, "corpus r-ctrl");
        request("control-chars-in-batchid", "r-ctrl-id", bare("r-ctrl-id", "\"batchId\":\"a\\u0000b\""), rej, "batchId",
                "\"a\\u0000b\" must be 1 to 64");
        request("newline-in-scheduler", "r-sched-nl", body("r-sched-nl", "\"scheduler\":\"pndm\\nINFO fake log line\""),
                rej, "scheduler", "\"pndm\\nINFO fake log line\" is not one of");
        // ---- requests: path tricks in ids and keys
        request("batchid-dotdot", "r-dotdot", bare("r-dotdot", "\"batchId\":\"../../etc/passwd\""), rej, "batchId",
                "\"../../etc/passwd\" must be 1 to 64");
        request("batchid-slash", "r-slash", bare("r-slash", "\"batchId\":\"a/b\""), rej, "batchId", "\"a/b\" must be");
        request("batchid-encoded-dots", "r-enc", bare("r-enc", "\"batchId\":\"%2e%2e\""), rej, "batchId", "must be");
        request("batchid-empty", "r-bid-empty", bare("r-bid-empty", "\"batchId\":\"\""), rej, "batchId", "must be");
        request("batchid-unicode", "r-bid-uni", bare("r-bid-uni", "\"batchId\":\"b\u00e4tch\""), rej, "batchId", "must be");
        request("batchid-65", "r-bid-65", bare("r-bid-65", "\"batchId\":\"" + repeat("a", 65) + "\""), rej, "batchId",
                "must be 1 to 64");
        request("batchid-number", "r-bid-num", bare("r-bid-num", "\"batchId\":{}"), rejDlq, "batchId", "");
        request("key-dotdot-body-id", "../../r-keytrick", body("r-keytrick", ""), Outcome.COMPLETED, null,
                "corpus r-keytrick");
        request("key-dotdot-no-id", "../../etc", bare("r-key-uuid", ""), Outcome.COMPLETED, null, "corpus r-key-uuid");
        request("no-key-no-id", null, bare("r-nokey", ""), Outcome.COMPLETED, null, "corpus r-nokey");
        request("key-dotdot-garbage", "../../x", "not json at all", rejDlq, null, "not valid JSON");
        request("key-100k-garbage", repeat("k", 100_000), "not json at all", rejDlq, null, "not valid JSON");
        // ---- requests: types and cancels
        request("type-unknown", "r-type", bare("r-type", "\"type\":\"pause\""), rejDlq, "type", "unknown request type \"pause\"");
        request("type-number", "r-type-n", bare("r-type-n", "\"type\":5"), rejDlq, "type", "unknown request type \"5\"");
        request("type-render", "r-type-render", body("r-type-render", "\"type\":\"render\""), Outcome.COMPLETED, null,
                "corpus r-type-render");
        request("cancel-unknown-batch", "r-cancel-none", "{\"type\":\"cancel\"}", rej, "batchId",
                "no batch \"r-cancel-none\" to cancel");
        request("cancel-dotdot", "r-cancel-dd", "{\"type\":\"cancel\",\"batchId\":\"../x\"}", rej, "batchId",
                "\"../x\" must be 1 to 64");
        request("cancel-long-reason", "r-cancel-long", "{\"type\":\"cancel\",\"reason\":\"" + repeat("r", 600) + "\"}",
                rej, "reason", "600 characters; at most 500");
        request("cancel-reason-object", "r-cancel-obj", "{\"type\":\"cancel\",\"reason\":{\"a\":1}}", rejDlq, "reason", "");
        request("cancel-schema-negative", "r-cancel-sv", "{\"type\":\"cancel\",\"schemaVersion\":-1}", rejDlq,
                "schemaVersion", "-1 is outside");
        // ---- requests: duplicate ids
        request("duplicate-first", "r-dup", body("r-dup", ""), Outcome.COMPLETED, null, "corpus r-dup");
        request("duplicate-same", "r-dup", body("r-dup", ""), Outcome.IGNORED, null, null);
        request("duplicate-other", "r-dup", body("r-dup", "").replace("corpus r-dup", "another prompt"), rej, "batchId",
                "\"r-dup\" is already used by another batch");
        // ---- requests: oversized headers
        RecordHeaders many = new RecordHeaders();
        for (int i = 0; i < 20; i++) {
            many.add("h" + i, new byte[10_000]);
        }
        cases.add(new Case("big-headers", topics.requests(), "r-headers", "not json".getBytes(StandardCharsets.UTF_8),
                rejDlq, "request", "not valid JSON", many));

        // ---- jobs
        Map<String, Object> good = jobFields("j-ghost", 0, 1);
        job("job-garbage", "j-garbage/0000", "{not a job", Outcome.DEAD_LETTERED, "not valid JSON");
        job("job-empty", "j-empty/0000", new byte[0], Outcome.DEAD_LETTERED, "empty message");
        job("job-megabyte", "j-mega/0000", megabyte, Outcome.DEAD_LETTERED, "job: 1000000 bytes is more than the 262144");
        Map<String, Object> huge = jobFields("j-huge", 0, 1);
        huge.put("steps", 100_000);
        job("job-100000-steps-unknown-batch", "j-huge/0000", json(huge), Outcome.DEAD_LETTERED,
                "steps: 100000 is outside 1..150");
        Map<String, Object> dd = jobFields("j-dd", 0, 1);
        job("job-objectkey-dotdot", "j-dd/0000", json(with(dd, "objectKey", "batches/j-dd/images/../../../../etc/passwd")),
                Outcome.DEAD_LETTERED, "objectKey: \"batches/j-dd/images/../../../../etc/passwd\" is not batches/j-dd/images/0000.png");
        job("job-objectkey-outside", "j-dd/0000", json(with(dd, "objectKey", "../outside.png")), Outcome.DEAD_LETTERED,
                "objectKey: \"../outside.png\" is not");
        job("job-objectkey-other-batch", "j-dd/0000", json(with(dd, "objectKey", "batches/other/images/0000.png")),
                Outcome.DEAD_LETTERED, "objectKey: \"batches/other/images/0000.png\" is not");
        job("job-objectkey-absolute", "j-dd/0000", json(with(dd, "objectKey", "/etc/passwd")), Outcome.DEAD_LETTERED,
                "objectKey: \"/etc/passwd\" is not");
        job("job-objectkey-missing", "j-dd/0000", json(with(dd, "objectKey", null)), Outcome.DEAD_LETTERED, "objectKey");
        job("job-key-mismatch", "wrong-key", json(good), Outcome.DEAD_LETTERED, "key: \"wrong-key\" is not the job's id");
        job("job-no-key", null, json(good), Outcome.DEAD_LETTERED, "key: null is not the job's id");
        job("job-batchid-dotdot", "../x/0000", json(with(with(good, "batchId", "../x"), "jobId", null)),
                Outcome.DEAD_LETTERED, "batchId \"../x\" must be 1 to 64");
        job("job-index-out-of-range", "j-ghost/0005", json(with(with(good, "index", 5), "jobId", null)),
                Outcome.DEAD_LETTERED, "index 5 is outside 0..0");
        job("job-jobid-mismatch", "j-ghost/0001", json(with(good, "jobId", "j-ghost/0001")), Outcome.DEAD_LETTERED,
                "jobId \"j-ghost/0001\" should be \"j-ghost/0000\"");
        job("job-schema-negative", "j-ghost/0000", json(with(good, "schemaVersion", -1)), Outcome.DEAD_LETTERED,
                "schemaVersion: -1 is outside 1..1");
        job("job-schema-newer", "j-ghost/0000", json(with(good, "schemaVersion", 2)), Outcome.DEAD_LETTERED,
                "schemaVersion: 2 is newer");
        job("job-width-100", "j-ghost/0000", json(with(good, "width", 100)), Outcome.DEAD_LETTERED,
                "width: 100 is not a multiple of 8");
        job("job-height-4096", "j-ghost/0000", json(with(good, "height", 4096)), Outcome.DEAD_LETTERED,
                "height: 4096 is outside 64..1024");
        job("job-guidance-NaN", "j-ghost/0000", json(with(good, "guidance", "NaN")), Outcome.DEAD_LETTERED,
                "guidance: NaN is outside");
        job("job-guidance-token-Infinity", "j-ghost/0000", json(good).replace("\"guidance\":7.5", "\"guidance\":Infinity"),
                Outcome.DEAD_LETTERED, "Infinity");
        job("job-scheduler-unknown", "j-ghost/0000", json(with(good, "scheduler", "nope")), Outcome.DEAD_LETTERED,
                "scheduler: \"nope\" is not one of");
        job("job-prompt-3000", "j-ghost/0000", json(with(good, "prompt", repeat("p", 3000))), Outcome.DEAD_LETTERED,
                "prompt: 3000 characters is more than 2000");
        job("job-prompt-lone-surrogate", "j-ghost/0000", json(good).replace("corpus job j-ghost", "x\\ud800"),
                Outcome.DEAD_LETTERED, "prompt: has an unpaired UTF-16 surrogate");
        job("job-seedmode-unknown", "j-ghost/0000", json(with(good, "seedMode", "sideways")), Outcome.DEAD_LETTERED,
                "seedMode");
        job("job-attempt-zero", "j-ghost/0000", json(with(good, "attempt", 0)), Outcome.DEAD_LETTERED,
                "attempt 0 must be at least 1");
        job("job-slice-out-of-range", "j-ghost/0000", json(with(with(good, "sliceIndex", 3), "batchSize", 2)),
                Outcome.DEAD_LETTERED, "sliceIndex 3 is outside 0..1");
        job("job-prompt-missing", "j-ghost/0000", json(with(good, "prompt", null)), Outcome.DEAD_LETTERED, "prompt");
        job("job-total-huge", "j-ghost/0000", json(with(with(good, "total", 1_000_001), "objectKey",
                "batches/j-ghost/images/0000000.png")), Outcome.DEAD_LETTERED,
                "total: 1000001 is outside 1..1000000");
        job("job-seed-negative", "j-ghost/0000", json(with(good, "seed", -1)), Outcome.DEAD_LETTERED,
                "seed: -1 is outside");
        job("job-model-blank", "j-ghost/0000", json(with(good, "model", " ")), Outcome.DEAD_LETTERED,
                "model: must be 1 to 256 characters");
        job("job-steps-string", "j-ghost/0000", json(with(good, "steps", "many")), Outcome.DEAD_LETTERED, "steps");
        job("job-nesting", "j-ghost/0000", json(good).replace("{", "{\"x\":" + nested(5000) + ","),
                Outcome.DEAD_LETTERED, "nesting depth");
        job("job-array", "j-ghost/0000", "[]", Outcome.DEAD_LETTERED, "");
        job("job-unknown-batch", "j-ghost/0000", json(good), Outcome.RENDERED, "j-ghost/0000");

        // ---- results
        String resultJson = "{\"schemaVersion\":1,\"batchId\":\"s-ghost\",\"index\":0,\"status\":\"rendered\",\"objectKey\":"
                + "\"batches/s-ghost/images/0000.png\",\"workerId\":\"w\",\"attempt\":1}";
        result("result-garbage", "s-garbage", "{nope", Outcome.DEAD_LETTERED, "not valid JSON");
        result("result-empty", "s-empty", "", Outcome.DEAD_LETTERED, "empty message");
        cases.add(new Case("result-megabyte", topics.results(), "s-mega", megabyte, Outcome.DEAD_LETTERED, null,
                "result: 1000000 bytes is more than the 262144", new RecordHeaders()));
        result("result-unknown-batch", "s-ghost", resultJson, Outcome.IGNORED, null);
        result("result-status-unknown", "s-status", resultJson.replace("\"rendered\"", "\"exploded\""),
                Outcome.DEAD_LETTERED, "status");
        result("result-batchid-dotdot", "s-dd", resultJson.replace("\"s-ghost\"", "\"../x\""), Outcome.DEAD_LETTERED,
                "batchId \"../x\" must be 1 to 64");
        result("result-schema-missing", "s-noschema", resultJson.replace("\"schemaVersion\":1,", ""),
                Outcome.DEAD_LETTERED, "schemaVersion: Cannot map `null`");
        result("result-schema-negative", "s-schema", resultJson.replace("\"schemaVersion\":1", "\"schemaVersion\":-1"),
                Outcome.DEAD_LETTERED, "schemaVersion: -1 is outside 1..1");
        result("result-objectkey-dotdot", "s-ghost2", resultJson.replace("s-ghost", "s-ghost2")
                .replace("batches/s-ghost2/images/0000.png", "../../etc/passwd"), Outcome.IGNORED, null);
        result("result-nesting", "s-nest", resultJson.replace("{", "{\"x\":" + nested(5000) + ","),
                Outcome.DEAD_LETTERED, "nesting depth");
        result("result-many-warnings", "s-ghost3", resultJson.replace("s-ghost", "s-ghost3").replace("}",
                ",\"warnings\":[" + String.join(",", java.util.Collections.nCopies(10_000, "\"w\"")) + "]}"),
                Outcome.IGNORED, null);
        result("result-long-reason", "s-ghost4", "{\"schemaVersion\":1,\"batchId\":\"s-ghost4\",\"index\":0,\"status\":\"failed\",\"reason\":\""
                + repeat("r", 200_000) + "\",\"attempt\":1}", Outcome.IGNORED, null);
        result("result-timings-NaN", "s-timing", resultJson.replace("}", ",\"timings\":{\"totalMs\":NaN}}"),
                Outcome.DEAD_LETTERED, "NaN");
        result("result-index-word", "s-index", resultJson.replace("\"index\":0", "\"index\":\"zero\""),
                Outcome.DEAD_LETTERED, "index");
        result("result-status-missing", "s-nostatus", resultJson.replace("\"status\":\"rendered\",", ""),
                Outcome.DEAD_LETTERED, "status");
        result("result-null", "s-null", "null", Outcome.DEAD_LETTERED, "null, expected");
    }

    // ------------------------------------------------------------------ the run

    @Test
    void everyBadInputGetsItsOutcomeAndAGoodRequestStillCompletes() throws Exception {
        topics = new Topics(PREFIX);
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(new TeeStream(out, captured), true));
        System.setErr(new PrintStream(new TeeStream(err, captured), true));
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"));
             EmbeddedS3 s3 = EmbeddedS3.start(dir.resolve("s3"), "latentfarm", "corpus-access", SECRET);
             ObjectStore store = ObjectStore.open(s3.objectStoreConfig())) {
            run(kafka, store);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        String logs = captured.toString(StandardCharsets.UTF_8);
        assertTrue(logs.contains("dead-lettered"), "the logs were not captured");
        assertFalse(logs.contains(SECRET), "the S3 secret key appears in the logs");
    }

    private void run(EmbeddedKafka kafka, ObjectStore store) throws Exception {
        CoordinatorSettings cs = EndToEndTest.coordinatorSettings(kafka.bootstrapServers(), topics,
                "coordinators-corpus", "coordinator-corpus", 2);
        WorkerSettings ws = EndToEndTest.workerSettings(kafka.bootstrapServers(), topics, "workers-corpus", "w-corpus")
                .toBuilder().progressInterval(Duration.ofSeconds(1)).shutdownGrace(Duration.ofSeconds(5))
                .retryBackoff(Duration.ofMillis(500)).build();
        try (Coordinator coordinator = new Coordinator(cs, store).start();
             JobWorker worker = new JobWorker(ws, new FlatRenderer(), store).start();
             BatchClient client = new BatchClient(kafka.bootstrapServers(), topics);
             KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
                     ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                     ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 2 * 1024 * 1024),
                     new StringSerializer(), new ByteArraySerializer())) {
            buildCorpus();
            assertTrue(cases.size() >= 100, "corpus of " + cases.size());
            Map<String, Case> bySource = new HashMap<>();
            for (Case c : cases) {
                RecordMetadata m = producer.send(new ProducerRecord<>(c.topic(), null, c.key(), c.value(), c.headers()))
                        .get();
                bySource.put(m.topic() + "-" + m.partition() + "@" + m.offset(), c);
            }
            RenderRequest last = client.submit(RenderRequest.builder().batchId("good-after-corpus")
                    .prompt("a good request after all that").grid(2, 2).steps(2).size(64, 64).seed(7L).build());
            try (BatchClient.Events events = client.events(last.batchId(), true)) {
                BatchEvent done = events.awaitFinal(Duration.ofSeconds(120), e -> { }).orElseThrow(
                        () -> new AssertionError("the good request did not complete"));
                assertEquals(BatchEvent.Type.COMPLETED, done.type(), done.toString());
                assertEquals(4, done.imageKeys().size());
                for (String key : done.imageKeys()) {
                    assertTrue(store.get(key).length > 0, key);
                }
            }
            awaitAllConsumed(kafka);
            assertTrue(coordinator.isRunning(), "coordinator stopped: " + coordinator.failure());
            assertNull(worker.crash(), "worker stopped");
            check(kafka, bySource);
        }
    }

    private void check(EmbeddedKafka kafka, Map<String, Case> bySource) {
        List<ConsumerRecord<String, byte[]>> eventRecords = kafka.readAll(topics.events(), true);
        List<ConsumerRecord<String, byte[]>> dlq = kafka.readAll(topics.jobsDlq(), true);
        List<ConsumerRecord<String, byte[]>> results = kafka.readAll(topics.results(), true);
        // Everything a component wrote is bounded.
        for (var r : eventRecords) {
            assertTrue(r.value().length < 8 * 1024, "an event of " + r.value().length + " bytes: " + r.key());
        }
        for (var r : dlq) {
            assertTrue(r.value() == null || r.value().length <= 262_144, () -> "a dead letter of " + r.value().length);
            assertTrue(r.key() == null || r.key().length() <= DeadLetters.MAX_KEY_CHARS, "a dead letter's key");
            int headerBytes = 0;
            for (Header h : r.headers()) {
                headerBytes += h.key().length() + (h.value() == null ? 0 : h.value().length);
            }
            assertTrue(headerBytes < 16 * 1024, "dead-letter headers of " + headerBytes + " bytes");
        }
        Map<String, List<BatchEvent>> events = new HashMap<>();
        List<BatchEvent> keyless = new ArrayList<>();
        for (var r : eventRecords) {
            BatchEvent e = Json.batchEvent(r.value());
            if (r.key() == null) {
                keyless.add(e);
            } else {
                events.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(e);
            }
        }
        Map<Case, List<ConsumerRecord<String, byte[]>>> deadLetters = new HashMap<>();
        for (var r : dlq) {
            Header source = r.headers().lastHeader(DeadLetters.SOURCE);
            Case c = source == null ? null : bySource.get(new String(source.value(), StandardCharsets.UTF_8));
            if (c != null) {
                deadLetters.computeIfAbsent(c, k -> new ArrayList<>()).add(r);
            }
        }
        // An oversized input's dead letter: its key, its size, a prefix of it, and that it was cut.
        Case megabyte = cases.stream().filter(c -> c.name().equals("megabyte-not-json")).findFirst().orElseThrow();
        ConsumerRecord<String, byte[]> excerpt = deadLetters.get(megabyte).get(0);
        assertEquals("r-megabyte", excerpt.key());
        assertEquals(1024, excerpt.value().length);
        assertEquals("1000000", header(excerpt, DeadLetters.SIZE));
        assertEquals("value", header(excerpt, DeadLetters.TRUNCATED));
        Case bigKey = cases.stream().filter(c -> c.name().equals("key-100k-garbage")).findFirst().orElseThrow();
        assertEquals("key", header(deadLetters.get(bigKey).get(0), DeadLetters.TRUNCATED));
        Case headers = cases.stream().filter(c -> c.name().equals("big-headers")).findFirst().orElseThrow();
        assertEquals("headers", header(deadLetters.get(headers).get(0), DeadLetters.TRUNCATED));

        List<String> failures = new ArrayList<>();
        int keylessRejections = 0;
        for (Case c : cases) {
            String problem = check(c, c.key() == null || !io.latentfarm.common.BatchIds.isValid(c.key()) ? List.of()
                    : events.getOrDefault(c.key(), List.of()), deadLetters.getOrDefault(c, List.of()), events, results,
                    keyless);
            if (c.outcome() != Outcome.COMPLETED && c.topic().equals(topics.requests())
                    && (c.key() == null || !io.latentfarm.common.BatchIds.isValid(c.key()))) {
                keylessRejections++;
            }
            if (problem != null) {
                failures.add(c.name() + ": " + problem);
            }
        }
        assertEquals(keylessRejections, keyless.stream().filter(e -> e.type() == BatchEvent.Type.REJECTED).count(),
                "rejections without a key: " + keyless);
        assertTrue(failures.isEmpty(), failures.size() + " of " + cases.size() + " cases went wrong:\n"
                + String.join("\n", failures));
        System.out.println("bad-input corpus: " + cases.size() + " cases, " + dlq.size() + " dead letters, "
                + eventRecords.size() + " events");
    }

    /** What is wrong with the case's outcome, or null. */
    private String check(Case c, List<BatchEvent> keyed, List<ConsumerRecord<String, byte[]>> dead,
                         Map<String, List<BatchEvent>> events, List<ConsumerRecord<String, byte[]>> results,
                         List<BatchEvent> keyless) {
        List<BatchEvent> rejected = (c.key() == null || !io.latentfarm.common.BatchIds.isValid(c.key()) ? keyless : keyed)
                .stream().filter(e -> e.type() == BatchEvent.Type.REJECTED).toList();
        switch (c.outcome()) {
            case REJECTED, REJECTED_AND_DEAD_LETTERED -> {
                boolean dlqWanted = c.outcome() == Outcome.REJECTED_AND_DEAD_LETTERED;
                if (c.key() != null && io.latentfarm.common.BatchIds.isValid(c.key())) {
                    if (rejected.size() != 1) {
                        return "expected one rejected event, got " + keyed;
                    }
                    BatchEvent e = rejected.get(0);
                    if (e.violations().stream().map(Violation::field).noneMatch(c.field()::equals)) {
                        return "rejected without naming " + c.field() + ": " + e.reason();
                    }
                    if (!e.reason().contains(c.text())) {
                        return "rejection does not say '" + c.text() + "': " + e.reason();
                    }
                    if (!c.name().startsWith("duplicate") && keyed.stream().anyMatch(x -> x.type() == BatchEvent.Type.ACCEPTED)) {
                        return "accepted as well: " + keyed;
                    }
                }
                if (dlqWanted != !dead.isEmpty()) {
                    return dlqWanted ? "no dead letter" : "dead-lettered: " + errors(dead);
                }
                if (dlqWanted && c.key() != null && !io.latentfarm.common.BatchIds.isValid(c.key())
                        && !errors(dead).contains(c.text())) {
                    return "dead letter does not say '" + c.text() + "': " + errors(dead);
                }
                return null;
            }
            case DEAD_LETTERED -> {
                if (dead.size() != 1) {
                    return "expected one dead letter, got " + dead.size();
                }
                if (!errors(dead).contains(c.text())) {
                    return "dead letter does not say '" + c.text() + "': " + errors(dead);
                }
                if (!keyed.isEmpty() && !c.topic().equals(topics.jobs())) {
                    return "events for it: " + keyed;
                }
                return null;
            }
            case COMPLETED -> {
                String batch = events.entrySet().stream()
                        .filter(en -> en.getValue().stream().anyMatch(e -> e.type() == BatchEvent.Type.ACCEPTED
                                && e.request().prompts().get(0).contains(c.text())))
                        .map(Map.Entry::getKey).findFirst().orElse(null);
                if (batch == null) {
                    return "not accepted";
                }
                if (events.get(batch).stream().noneMatch(e -> e.type() == BatchEvent.Type.COMPLETED)) {
                    return "accepted as " + batch + " but not completed: " + events.get(batch);
                }
                return dead.isEmpty() ? null : "dead-lettered: " + errors(dead);
            }
            case IGNORED -> {
                if (!dead.isEmpty()) {
                    return "dead-lettered: " + errors(dead);
                }
                if (c.topic().equals(topics.results()) && !keyed.isEmpty()) {
                    return "events for it: " + keyed;
                }
                long accepted = keyed.stream().filter(e -> e.type() == BatchEvent.Type.ACCEPTED).count();
                return accepted > 1 ? "accepted twice" : null;
            }
            case RENDERED -> {
                if (!dead.isEmpty()) {
                    return "dead-lettered: " + errors(dead);
                }
                String batch = c.text().substring(0, c.text().indexOf('/'));
                boolean rendered = results.stream().filter(r -> batch.equals(r.key()))
                        .map(r -> Json.renderResult(r.value()))
                        .anyMatch(r -> r.jobId().equals(c.text()) && r.status() == RenderResult.Status.RENDERED);
                return rendered ? null : "no result";
            }
            default -> throw new IllegalStateException();
        }
    }

    private static String header(ConsumerRecord<String, byte[]> record, String name) {
        Header h = record.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static String errors(List<ConsumerRecord<String, byte[]>> dead) {
        return dead.stream().map(r -> r.headers().lastHeader(DeadLetters.ERROR))
                .filter(Objects::nonNull).map(h -> new String(h.value(), StandardCharsets.UTF_8))
                .collect(Collectors.joining(" | "));
    }

    /**
     * Waits until the coordinators have committed the requests topic to its end, then the workers
     * the jobs topic (every job a request made is in by then), then the coordinators the results
     * topic (every result of those jobs is in by then): nothing is left to happen.
     */
    private void awaitAllConsumed(EmbeddedKafka kafka) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            awaitConsumed(kafka, admin, "coordinators-corpus", topics.requests());
            awaitConsumed(kafka, admin, "workers-corpus", topics.jobs());
            awaitConsumed(kafka, admin, "coordinators-corpus", topics.results());
        }
    }

    /**
     * Waits until the group's committed offset is past the last record of every partition (the end
     * offset itself may be a transaction marker after it, which no consumer commits past).
     */
    private static void awaitConsumed(EmbeddedKafka kafka, Admin admin, String group, String topic) throws Exception {
        Map<TopicPartition, Long> last = new HashMap<>();
        for (var r : kafka.readAll(topic, true)) {
            last.merge(new TopicPartition(topic, r.partition()), r.offset() + 1, Math::max);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            Map<TopicPartition, OffsetAndMetadata> at = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get();
            if (last.entrySet().stream().allMatch(e -> at.get(e.getKey()) != null
                    && at.get(e.getKey()).offset() >= e.getValue())) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(group + " did not consume " + topic + ": at " + at + ", last " + last);
            }
            Thread.sleep(100);
        }
    }

}
