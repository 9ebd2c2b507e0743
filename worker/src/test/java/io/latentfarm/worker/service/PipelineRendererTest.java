package io.latentfarm.worker.service;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.model.pipeline.PipelineOptions;
import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PipelineRendererTest {

    private static RenderJob job(String prompt, String negativePrompt, double guidance) {
        RenderRequest request = RenderRequest.builder().batchId("b").prompt(prompt).negativePrompt(negativePrompt)
                .guidance(guidance).steps(2).size(64, 64).seed(1L).build();
        return RenderJob.forImage(request, 0, "k");
    }

    /**
     * Every tokenizer case as a prompt: a warning naming the field, the reference's unpadded token
     * count and the limit exactly for the cases the reference truncates; the negative prompt likewise,
     * but only when guidance encodes it.
     */
    @Test
    void warnsAboutEveryTruncatedPromptOfTheReference() {
        try (PipelineRenderer renderer = PipelineRenderer.load(Reference.tinyModel(), PipelineOptions.cpu(), null)) {
            List<String> failures = new ArrayList<>();
            int truncated = 0;
            for (JsonNode c : Reference.cases("tokenizer")) {
                String name = c.get("name").asText();
                String text = c.get("prompt").asText();
                String expected = c.get("num_tokens_unpadded").asInt() + " CLIP tokens, truncated to 77";
                boolean cut = c.get("truncated").asBoolean();
                truncated += cut ? 1 : 0;
                check(failures, name + " as prompt", cut ? List.of("prompt: " + expected) : List.of(),
                        renderer.warnings(job(text, "", 7.5)));
                check(failures, name + " as negative prompt", cut ? List.of("negativePrompt: " + expected) : List.of(),
                        renderer.warnings(job("a cat", text, 7.5)));
                check(failures, name + " as negative prompt without guidance", List.of(),
                        renderer.warnings(job("a cat", text, 1.0)));
            }
            assertTrue(truncated >= 2, "the reference should have truncated cases");
            assertTrue(failures.isEmpty(), String.join("\n", failures));

            String longText = Reference.cases("tokenizer").stream().filter(c -> c.get("truncated").asBoolean())
                    .reduce((a, b) -> b).orElseThrow().get("prompt").asText();
            assertEquals(2, renderer.warnings(job(longText, longText, 7.5)).size());
        }
    }

    private static void check(List<String> failures, String what, List<String> expected, List<String> actual) {
        if (!expected.equals(actual)) {
            failures.add(what + ": expected " + expected + ", got " + actual);
        }
    }
}
