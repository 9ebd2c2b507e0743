package io.latentfarm.common.spec;

import io.latentfarm.common.message.SeedMode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RenderSpecTest {
    @Test
    void unsetValuesComeFromTheOneTable() {
        RenderSpec s = RenderSpec.builder().prompt("p").build();
        assertEquals(RenderDefaults.STEPS, s.steps());
        assertEquals(50, s.steps());
        assertEquals(7.5, s.guidance());
        assertEquals(512, s.width());
        assertEquals(512, s.height());
        assertEquals("", s.negativePrompt());
        assertEquals(SeedMode.BATCH, s.seedModeValue());
        assertEquals(RenderDefaults.SEED_MODE, SeedMode.BATCH.wireName());
        assertNull(s.scheduler());
        assertNull(s.seed());
    }

    @Test
    void imageIResolvesItsPromptAndItsSliceOfTheNoise() {
        RenderSpec s = RenderSpec.builder().prompts(List.of("a", "b")).count(4).seed(1024L).steps(15).size(64, 64)
                .scheduler("euler_a").build();
        assertEquals(new ImageSpec("b", "", 15, 7.5, 64, 64, "euler_a", 1024, 4, 3, null), s.image(3));
        RenderSpec perImage = s.toBuilder().seedMode(SeedMode.PER_IMAGE).build();
        assertEquals(new ImageSpec("a", "", 15, 7.5, 64, 64, "euler_a", 1025, 1, 0, null), perImage.image(1));
        assertEquals(4, s.images().size());
        assertThrows(IllegalStateException.class, () -> s.toBuilder().seed(null).build().image(0));
        assertThrows(IndexOutOfBoundsException.class, () -> s.image(4));
    }

    @Test
    void compatibleImagesShareOneDenoisingCall() {
        RenderSpec s = RenderSpec.builder().prompts(List.of("a", "b")).seed(1L).build();
        ImageSpec a = s.image(0);
        assertEquals(true, a.compatibleWith(s.image(1)));
        assertEquals(false, a.compatibleWith(s.toBuilder().steps(20).build().image(1)));
        assertEquals(false, a.compatibleWith(s.toBuilder().scheduler("ddim").build().image(1)));
    }
}
