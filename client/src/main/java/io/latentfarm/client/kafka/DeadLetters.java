package io.latentfarm.client.kafka;

import io.latentfarm.common.Excerpt;
import io.latentfarm.common.message.RecordLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The one way a component copies a record it cannot take to the dead-letter topic: the original key
 * and value with headers that say why and where from. Bounded whatever the input: an oversized value
 * (or key, or header) is replaced by its first {@link RecordLimits#excerptBytes()} bytes, and
 * {@value #TRUNCATED} says so; {@value #SIZE} always gives the original value's size.
 *
 * <p>Headers: {@value #ERROR} (why, at most {@value Excerpt#MESSAGE_CHARS} characters),
 * {@value #SOURCE} ({@code topic-partition@offset}), {@value #SIZE}, {@value #TRUNCATED} (when cut:
 * which of {@code key}, {@code value}, {@code headers}), {@code latentfarm.worker} (from workers), and
 * the record's own headers (at most {@value #MAX_HEADERS}, each value at most the excerpt size).
 */
public final class DeadLetters {
    public static final String ERROR = "latentfarm.error";
    public static final String SOURCE = "latentfarm.source";
    public static final String SIZE = "latentfarm.size";
    public static final String TRUNCATED = "latentfarm.truncated";
    public static final String WORKER = "latentfarm.worker";
    /** The longest key a dead letter keeps whole (the ids it should carry are at most 69 characters). */
    public static final int MAX_KEY_CHARS = 256;
    public static final int MAX_HEADERS = 8;

    private DeadLetters() {
    }

    /** {@code topic-partition@offset} */
    public static String source(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    /**
     * The dead letter of a consumed record, for {@code dlqTopic}.
     *
     * @param extra more headers as name, value pairs (e.g. {@value #WORKER}, the worker's id)
     */
    public static ProducerRecord<String, byte[]> of(String dlqTopic, ConsumerRecord<String, byte[]> record,
                                                    String error, RecordLimits limits, String... extra) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(ERROR, utf8(Excerpt.cut(String.valueOf(error))));
        headers.add(SOURCE, utf8(source(record)));
        byte[] value = record.value();
        headers.add(SIZE, utf8(String.valueOf(value == null ? 0 : value.length)));
        for (int i = 0; i + 1 < extra.length; i += 2) {
            headers.add(extra[i], utf8(Excerpt.cut(extra[i + 1], Excerpt.QUOTE_CHARS)));
        }
        StringBuilder truncated = new StringBuilder();
        String key = record.key();
        if (key != null && key.length() > MAX_KEY_CHARS) {
            key = Excerpt.prefix(key, MAX_KEY_CHARS);
            truncated.append("key");
        }
        if (value != null && value.length > limits.maxInputBytes()) {
            value = Arrays.copyOf(value, limits.excerptBytes());
            truncated.append(truncated.isEmpty() ? "" : ",").append("value");
        }
        int copied = 0;
        for (Header h : record.headers()) {
            if (copied == MAX_HEADERS) {
                truncated.append(truncated.isEmpty() ? "" : ",").append("headers");
                break;
            }
            byte[] v = h.value();
            String name = Excerpt.prefix(h.key(), MAX_KEY_CHARS);
            headers.add(name, v == null || v.length <= limits.excerptBytes() ? v : Arrays.copyOf(v, limits.excerptBytes()));
            copied++;
        }
        if (!truncated.isEmpty()) {
            headers.add(TRUNCATED, utf8(truncated.toString()));
        }
        return new ProducerRecord<>(dlqTopic, null, key, value, headers);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
