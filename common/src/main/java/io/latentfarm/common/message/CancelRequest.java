package io.latentfarm.common.message;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * A request to cancel a running batch, on the requests topic keyed by batch id:
 * {@code {"schemaVersion":1,"type":"cancel","batchId":"...","reason":"..."}}. The {@code type}
 * field tells it apart from a render request, which has none (or {@value RenderRequest#TYPE}).
 *
 * @param batchId the batch to cancel; when null, the record key (if it is a valid batch id)
 * @param reason  why, for the {@code cancelled} event (optional, at most {@link #MAX_REASON} characters)
 */
@JsonPropertyOrder({"schemaVersion", "type", "batchId", "reason"})
public record CancelRequest(int schemaVersion, String batchId, String reason) implements Message {
    /** The {@code type} of a cancel request. */
    public static final String TYPE = "cancel";
    public static final int MAX_REASON = 500;
    /** The reason a {@code cancelled} event gives when the request gave none. */
    public static final String DEFAULT_REASON = "cancelled by request";

    public CancelRequest {
        schemaVersion = Message.normalizeVersion(schemaVersion);
    }

    @JsonCreator
    static CancelRequest fromJson(@JsonProperty("schemaVersion") Integer schemaVersion,
                                  @JsonProperty("batchId") String batchId,
                                  @JsonProperty("reason") String reason) {
        return new CancelRequest(schemaVersion == null ? 0 : schemaVersion, batchId, reason);
    }

    public static CancelRequest of(String batchId, String reason) {
        return new CancelRequest(SCHEMA_VERSION, batchId, reason);
    }

    @JsonProperty("type")
    public String type() {
        return TYPE;
    }

    public CancelRequest withBatchId(String newBatchId) {
        return new CancelRequest(schemaVersion, newBatchId, reason);
    }

    /** The reason for the event: the request's, or {@link #DEFAULT_REASON} when it gave none. */
    public String reasonOrDefault() {
        return reason == null || reason.isBlank() ? DEFAULT_REASON : reason.strip();
    }
}
