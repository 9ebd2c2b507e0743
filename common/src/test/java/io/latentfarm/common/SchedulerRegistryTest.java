package io.latentfarm.common;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SchedulerRegistryTest {

    @Test
    void namesAndLabelsAreUnique() {
        assertEquals(21, SchedulerRegistry.all().size());
        assertEquals(21, new HashSet<>(SchedulerRegistry.names()).size());
        assertEquals(21, SchedulerRegistry.all().stream().map(SchedulerRegistry.Entry::label).distinct().count());
        assertEquals("DPM++ 2M Karras", SchedulerRegistry.label("dpmpp_2m_karras"));
        assertEquals("DPM2 a Karras", SchedulerRegistry.label("dpm2_a_karras"));
        assertEquals("UniPC", SchedulerRegistry.label("unipc"));
        assertEquals("custom", SchedulerRegistry.label("custom"), "unknown names pass through");
        assertFalse(SchedulerRegistry.isKnown(null));
        assertTrue(SchedulerRegistry.describe().contains("heun (Heun)"));
    }

    @Test
    void aResolvedConfigIsNamedByItsMostSpecificEntry() {
        String dpm = "DPMSolverMultistepScheduler";
        Map<String, Object> karras = Map.of("algorithm_type", "dpmsolver++", "solver_order", 2, "use_karras_sigmas", true);
        assertEquals("dpmpp_2m_karras", SchedulerRegistry.nameFor(dpm, karras).orElseThrow().name());
        Map<String, Object> plain = Map.of("algorithm_type", "dpmsolver++", "solver_order", 2.0, "use_karras_sigmas", false);
        assertEquals("dpmpp_2m", SchedulerRegistry.nameFor(dpm, plain).orElseThrow().name());
        assertEquals("pndm", SchedulerRegistry.nameFor("PNDMScheduler", Map.of("skip_prk_steps", true)).orElseThrow().name());
        assertEquals("pndm_prk", SchedulerRegistry.nameFor("PNDMScheduler", Map.of("skip_prk_steps", false)).orElseThrow().name());
        assertTrue(SchedulerRegistry.nameFor("LCMScheduler", Map.of()).isEmpty());
    }
}
