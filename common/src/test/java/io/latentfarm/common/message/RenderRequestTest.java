package io.latentfarm.common.message;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RenderRequestTest {
    @Test
    void onePromptWithAGridRendersRowsTimesCols() {
        RenderRequest r = RenderRequest.builder().prompt("p").grid(4, 3).build();
        assertEquals(12, r.imageCount());
        assertEquals(12, r.imagesPerPrompt());
        assertEquals(4, r.gridRows());
        assertEquals(3, r.gridCols());
        assertEquals("p", r.promptFor(11));
    }

    @Test
    void promptsGoInDiffusersOrderPromptByPrompt() {
        RenderRequest r = RenderRequest.builder().prompts(List.of("a", "b", "c")).grid(2, 3).build();
        assertEquals(6, r.imageCount());
        assertEquals(2, r.imagesPerPrompt());
        assertEquals(List.of("a", "a", "b", "b", "c", "c"),
                java.util.stream.IntStream.range(0, 6).mapToObj(r::promptFor).toList());
        assertThrows(IndexOutOfBoundsException.class, () -> r.promptFor(6));
    }

    @Test
    void withoutCountOrGridEachPromptGetsOneImage() {
        RenderRequest r = RenderRequest.builder().prompts(List.of("a", "b")).build();
        assertEquals(2, r.imageCount());
        assertEquals(1, r.imagesPerPrompt());
        assertEquals(1, r.gridRows());
        assertEquals(2, r.gridCols());
    }

    @Test
    void countWithoutGridGetsANearSquareGrid() {
        RenderRequest r = RenderRequest.builder().prompt("a").count(5).build();
        assertEquals(5, r.imageCount());
        assertEquals(3, r.gridCols());
        assertEquals(2, r.gridRows());
        RenderRequest nine = RenderRequest.builder().prompt("a").count(9).build();
        assertEquals(3, nine.gridRows());
        assertEquals(3, nine.gridCols());
        RenderRequest one = RenderRequest.builder().prompt("a").count(1).build();
        assertEquals(1, one.gridRows());
        assertEquals(1, one.gridCols());
    }

    @Test
    void coordinatorFillsInBatchIdAndSeed() {
        RenderRequest r = RenderRequest.builder().prompt("a").build();
        RenderRequest filled = r.withBatchId("b").withSeed(42);
        assertEquals("b", filled.batchId());
        assertEquals(42L, filled.seed());
        assertEquals(r.prompts(), filled.prompts());
        assertEquals(SeedMode.BATCH, filled.seedModeValue());
    }

    @Test
    void promptListIsACopy() {
        var prompts = new java.util.ArrayList<>(List.of("a"));
        RenderRequest r = RenderRequest.builder().prompts(prompts).build();
        prompts.add("b");
        assertEquals(List.of("a"), r.prompts());
        assertThrows(UnsupportedOperationException.class, () -> r.prompts().add("c"));
    }
}
