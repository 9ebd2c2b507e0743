package io.latentfarm.client.kafka;

import io.latentfarm.common.message.RecordLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class DeadLettersTest {

    @Test
    void aDeadLetterOfAnOversizedValueKeepsAnExcerptTheSizeAndTheKey() {
        byte[] big = new byte[300_000];
        ConsumerRecord<String, byte[]> record = new ConsumerRecord<>("t.requests", 2, 41, "k".repeat(300), big);
        record.headers().add("trace", new byte[5000]);
        ProducerRecord<String, byte[]> dead = DeadLetters.of("t.jobs.dlq", record, "request: too large",
                RecordLimits.DEFAULTS);
        assertEquals("t.jobs.dlq", dead.topic());
        assertEquals(DeadLetters.MAX_KEY_CHARS, dead.key().length());
        assertEquals(1024, dead.value().length);
        assertEquals("300000", header(dead, DeadLetters.SIZE));
        assertEquals("key,value", header(dead, DeadLetters.TRUNCATED));
        assertEquals("t.requests-2@41", header(dead, DeadLetters.SOURCE));
        assertEquals("request: too large", header(dead, DeadLetters.ERROR));
        assertEquals(1024, dead.headers().lastHeader("trace").value().length);
    }

    @Test
    void aDeadLetterOfASmallRecordIsTheRecord() {
        byte[] value = "{oops".getBytes(StandardCharsets.UTF_8);
        ConsumerRecord<String, byte[]> record = new ConsumerRecord<>("t.jobs", 0, 7, "b/0001", value);
        ProducerRecord<String, byte[]> dead = DeadLetters.of("t.jobs.dlq", record, "not valid JSON",
                RecordLimits.DEFAULTS, DeadLetters.WORKER, "w1");
        assertEquals("b/0001", dead.key());
        assertArrayEquals(value, dead.value());
        assertNull(dead.headers().lastHeader(DeadLetters.TRUNCATED));
        assertEquals("w1", header(dead, DeadLetters.WORKER));
    }

    private static String header(ProducerRecord<String, byte[]> r, String name) {
        return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }
}
