package io.latentfarm.common.message;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.latentfarm.common.Excerpt;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The project's JSON: one configuration for every message, and readers that turn any decoding
 * problem into a {@link MessageDecodeException} naming the field.
 *
 * <p>Writes omit nulls and sort map keys (same message, same bytes); reads ignore unknown
 * properties (newer writers may add fields), refuse trailing garbage, nulls for primitives,
 * floats where integers belong, and schema versions newer than {@link Message#SCHEMA_VERSION}.
 */
public final class Json {
    private static final ObjectMapper MAPPER = newMapper();

    private Json() {
    }

    /** A new mapper with the project's settings, for callers that need their own (e.g. manifests). */
    public static ObjectMapper newMapper() {
        return JsonMapper.builder()
                .serializationInclusion(JsonInclude.Include.NON_NULL)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
                .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
                .enable(MapperFeature.SORT_CREATOR_PROPERTIES_FIRST)
                .build();
    }

    /** UTF-8 JSON bytes of a message (or any value, e.g. a manifest). */
    public static byte[] toBytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** The JSON text of a message (or any value). */
    public static String toJson(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** Indented JSON, for files people read (manifests). */
    public static byte[] toPrettyBytes(Object value) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /**
     * Reads a message of the given type.
     *
     * @throws MessageDecodeException if the bytes are not such a message
     */
    public static <T extends Message> T fromBytes(byte[] bytes, Class<T> type) {
        T message = read(bytes, type);
        if (message.schemaVersion() > Message.SCHEMA_VERSION) {
            throw new MessageDecodeException("schemaVersion", message.schemaVersion()
                    + " is newer than the newest this program reads (" + Message.SCHEMA_VERSION + ")", null);
        }
        if (message.schemaVersion() < 1) {
            throw new MessageDecodeException("schemaVersion", message.schemaVersion()
                    + " is outside 1.." + Message.SCHEMA_VERSION, null);
        }
        return message;
    }

    /**
     * Reads any JSON value (no schema version check).
     *
     * @throws MessageDecodeException if the bytes are not such a value
     */
    public static <T> T read(byte[] bytes, Class<T> type) {
        if (bytes == null || bytes.length == 0) {
            throw new MessageDecodeException(null, "empty message, expected a JSON " + type.getSimpleName(), null);
        }
        try {
            T value = MAPPER.readValue(bytes, type);
            if (value == null) {
                throw new MessageDecodeException(null, "null, expected a JSON " + type.getSimpleName(), null);
            }
            return value;
        } catch (JsonMappingException e) {
            throw describe(e);
        } catch (InputCoercionException e) {
            // A number too large for its field (an int of 99999999999): JSON, but not this message.
            throw new MessageDecodeException(currentName(e), e.getOriginalMessage(), e);
        } catch (StreamReadException e) {
            throw new MessageDecodeException(null, "not valid JSON: " + e.getOriginalMessage()
                    + location(e), e);
        } catch (JsonProcessingException e) {
            throw new MessageDecodeException(null, e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // not reachable from a byte array
        }
    }

    public static RenderRequest renderRequest(byte[] bytes) {
        return fromBytes(bytes, RenderRequest.class);
    }

    public static CancelRequest cancelRequest(byte[] bytes) {
        return fromBytes(bytes, CancelRequest.class);
    }

    /**
     * The {@code type} field of a message on the requests topic ({@code "cancel"}; a render request
     * has none, or {@code "render"}), as text; null when there is none, or when the bytes are not a
     * JSON object (the render request reader then says what is wrong with them).
     */
    public static String requestType(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            return null;
        }
        try {
            JsonNode type = MAPPER.readTree(bytes).get("type");
            if (type == null || type.isNull()) {
                return null;
            }
            return type.isTextual() ? type.asText() : type.toString();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    public static RenderJob renderJob(byte[] bytes) {
        return fromBytes(bytes, RenderJob.class);
    }

    public static RenderResult renderResult(byte[] bytes) {
        return fromBytes(bytes, RenderResult.class);
    }

    public static BatchEvent batchEvent(byte[] bytes) {
        return fromBytes(bytes, BatchEvent.class);
    }

    private static MessageDecodeException describe(JsonMappingException e) {
        String field = path(e);
        String message;
        if (e instanceof ValueInstantiationException && e.getCause() != null) {
            // Our records' own checks: their message is already meant for people.
            message = e.getCause().getMessage();
        } else if (e instanceof InvalidFormatException f) {
            message = "cannot read " + quote(f.getValue()) + " as " + typeName(f.getTargetType());
        } else {
            message = e.getOriginalMessage();
        }
        return new MessageDecodeException(field, message, e);
    }

    private static String path(JsonMappingException e) {
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                if (!path.isEmpty()) {
                    path.append('.');
                }
                path.append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                path.append('[').append(ref.getIndex()).append(']');
            }
        }
        return path.isEmpty() ? null : path.toString();
    }

    private static String currentName(StreamReadException e) {
        try {
            JsonParser p = e.getProcessor();
            return p == null ? null : p.currentName();
        } catch (IOException | RuntimeException ignored) {
            return null;
        }
    }

    private static String location(StreamReadException e) {
        return e.getLocation() == null ? ""
                : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
    }

    private static String quote(Object value) {
        return value instanceof String s ? Excerpt.quote(s) : Excerpt.cut(String.valueOf(value), Excerpt.QUOTE_CHARS);
    }

    private static String typeName(Class<?> type) {
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
            return "an integer";
        }
        if (type == double.class || type == Double.class) {
            return "a number";
        }
        return type.getSimpleName();
    }
}
