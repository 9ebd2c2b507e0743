package io.latentfarm.common.message;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecordLimitsTest {

    @Test
    void theDefaultsFitTheProducersDefaultRequestSize() {
        RecordLimits.DEFAULTS.checkFits(Map.of());
        RecordLimits.DEFAULTS.checkFits(Map.of("max.request.size", "1048576"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RecordLimits.DEFAULTS.checkFits(Map.of("max.request.size", 500_000)));
        assertTrue(e.getMessage().contains("max-record-bytes 524288")
                && e.getMessage().contains("max.request.size 500000"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new RecordLimits(4096, 2048, 256));
    }
}
