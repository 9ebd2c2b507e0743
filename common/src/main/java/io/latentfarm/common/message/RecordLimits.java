package io.latentfarm.common.message;

import java.util.Map;

/**
 * How large the records a component reads and writes may be, so that no input can make it write a
 * record the producer or broker refuses (which would fail its transaction or its publish every time).
 *
 * @param maxInputBytes  the largest request, result or job value taken; a larger one is not parsed:
 *                       it is rejected (requests) and dead-lettered as an excerpt
 * @param maxRecordBytes the largest record (key and value) the component writes; a larger one is not
 *                       sent, and the input that caused it is dead-lettered instead
 * @param excerptBytes   how much of an oversized value (or header) a dead letter keeps
 */
public record RecordLimits(int maxInputBytes, int maxRecordBytes, int excerptBytes) {
    /** 256 KiB in, 512 KiB out, 1 KiB excerpts: within Kafka's default 1 MiB request and message sizes. */
    public static final RecordLimits DEFAULTS = new RecordLimits(256 * 1024, 512 * 1024, 1024);
    /** Room the producer's size estimate needs beyond key and value (headers, record and batch overhead). */
    public static final int OVERHEAD_BYTES = 16 * 1024;
    /** The producer's own default {@code max.request.size}. */
    public static final int DEFAULT_MAX_REQUEST_SIZE = 1024 * 1024;

    public RecordLimits {
        if (maxInputBytes < 1024 || excerptBytes < 16 || excerptBytes > maxInputBytes) {
            throw new IllegalArgumentException("record limits: max-input-bytes " + maxInputBytes
                    + " must be at least 1024 and dead-letter-excerpt-bytes " + excerptBytes + " 16.." + maxInputBytes);
        }
        if (maxRecordBytes < maxInputBytes) {
            // An accepted event quotes the whole request; a dead letter may copy the whole input.
            throw new IllegalArgumentException("record limits: max-record-bytes " + maxRecordBytes
                    + " must be at least max-input-bytes " + maxInputBytes);
        }
    }

    /**
     * Refuses limits the producer would not honour: every record up to {@link #maxRecordBytes} plus
     * headers must fit the producer's {@code max.request.size}.
     *
     * @param producerConfig the producer's settings (the size as a number or text; absent: Kafka's default)
     * @throws IllegalArgumentException naming both settings
     */
    public void checkFits(Map<String, ?> producerConfig) {
        Object configured = producerConfig.get("max.request.size");
        int maxRequestSize = configured == null ? DEFAULT_MAX_REQUEST_SIZE : Integer.parseInt(configured.toString().trim());
        if ((long) maxRecordBytes + OVERHEAD_BYTES > maxRequestSize) {
            throw new IllegalArgumentException("max-record-bytes " + maxRecordBytes + " plus " + OVERHEAD_BYTES
                    + " bytes of headers and overhead is more than the producer's max.request.size " + maxRequestSize
                    + "; lower max-record-bytes or raise max.request.size (and the topics' max.message.bytes)");
        }
    }

    /** Whether a record with this key and value may be written. */
    public boolean fits(String key, byte[] value) {
        return size(key, value) <= maxRecordBytes;
    }

    /** A record's size as {@link #fits} counts it: the value, and the key at its longest in UTF-8. */
    public static long size(String key, byte[] value) {
        return (key == null ? 0 : (long) key.length() * 3) + (value == null ? 0 : value.length);
    }
}
