package io.latentfarm.model.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.model.files.ModelFolder;
import io.latentfarm.model.files.SafeTensors;
import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ClipTextModelTest {
    private static final double TOL = 1e-4;
    private static NDManager weights;
    private static ClipTextModel model;

    @BeforeAll
    static void load() {
        weights = NDManager.newBaseManager();
        model = ClipTextModel.load(ModelFolder.open(Reference.tinyModel()), null, weights);
    }

    @AfterAll
    static void close() {
        weights.close();
    }

    private static long[] ids(JsonNode c) {
        return Reference.tensors("text_encoder").longs(c.get("input_ids").asText());
    }

    /** Every case: last_hidden_state, and hidden_states layer by layer where the reference has them. */
    @Test
    void everyCaseMatchesTheReference() {
        SafeTensors ref = Reference.tensors("text_encoder");
        List<JsonNode> cases = Reference.cases("text_encoder");
        assertEquals(6, cases.size());
        int hidden = model.config().hiddenSize();
        for (JsonNode c : cases) {
            String name = c.get("name").asText();
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray ids = m.create(ids(c), new Shape(1, 77));
                ClipTextModel.Output out = model.forwardWithHiddenStates(ids);
                assertEquals(new Shape(1, 77, hidden), out.lastHiddenState().getShape(), name);
                if (c.has("hidden_states")) {
                    float[] all = ref.floats(c.get("hidden_states").asText());
                    int per = 77 * hidden;
                    assertEquals(all.length / per, out.hiddenStates().size(), name + ": number of hidden states");
                    for (int i = 0; i < out.hiddenStates().size(); i++) {
                        String what = name + "/hidden_states[" + i + "] (" + (i == 0 ? "embeddings" : "after layer " + i) + ")";
                        Reference.assertClose(what, Arrays.copyOfRange(all, i * per, (i + 1) * per),
                                out.hiddenStates().get(i).toFloatArray(), TOL);
                    }
                }
                Reference.assertClose(name + "/last_hidden_state", ref.floats(c.get("last_hidden_state").asText()),
                        out.lastHiddenState().toFloatArray(), TOL);
            }
        }
    }

    /** All cases as one batch give each case's reference output (no mixing across the batch). */
    @Test
    void batchedForwardMatchesEachCase() {
        SafeTensors ref = Reference.tensors("text_encoder");
        List<JsonNode> cases = Reference.cases("text_encoder");
        long[] all = new long[cases.size() * 77];
        for (int i = 0; i < cases.size(); i++) System.arraycopy(ids(cases.get(i)), 0, all, i * 77, 77);
        int per = 77 * model.config().hiddenSize();
        try (NDManager m = NDManager.newBaseManager()) {
            float[] out = model.forward(m.create(all, new Shape(cases.size(), 77))).toFloatArray();
            for (int i = 0; i < cases.size(); i++) {
                JsonNode c = cases.get(i);
                Reference.assertClose("batch/" + c.get("name").asText(), ref.floats(c.get("last_hidden_state").asText()),
                        Arrays.copyOfRange(out, i * per, (i + 1) * per), TOL);
            }
        }
    }

    /** Prompt -> tokenizer -> encoder gives the reference ids and output. */
    @Test
    void textEncodingFromPrompts() {
        SafeTensors ref = Reference.tensors("text_encoder");
        List<JsonNode> cases = Reference.cases("text_encoder");
        List<String> prompts = new ArrayList<>();
        cases.forEach(c -> prompts.add(c.get("prompt").asText()));
        ClipTokenizer tokenizer = ClipTokenizer.load(Reference.tinyModel().resolve("tokenizer"));
        int per = 77 * model.config().hiddenSize();
        try (NDManager m = NDManager.newBaseManager()) {
            long[] ids = new long[prompts.size() * 77];
            for (int i = 0; i < prompts.size(); i++) {
                System.arraycopy(tokenizer.encode(prompts.get(i)).ids(), 0, ids, i * 77, 77);
            }
            for (int i = 0; i < cases.size(); i++) {
                assertArrayEquals(ids(cases.get(i)), Arrays.copyOfRange(ids, i * 77, (i + 1) * 77),
                        cases.get(i).get("name").asText() + ": ids");
            }
            NDArray out = model.forward(m.create(ids, new Shape(prompts.size(), 77)));
            assertSame(m, out.getManager());
            float[] values = out.toFloatArray();
            for (int i = 0; i < cases.size(); i++) {
                JsonNode c = cases.get(i);
                Reference.assertClose("prompt/" + c.get("name").asText(), ref.floats(c.get("last_hidden_state").asText()),
                        Arrays.copyOfRange(values, i * per, (i + 1) * per), TOL);
            }
        }
    }

    @Test
    void configDefaultsAreTransformersDefaults() throws Exception {
        ClipTextConfig d = ClipTextConfig.from(new com.fasterxml.jackson.databind.ObjectMapper().readTree("{}"));
        assertEquals(new ClipTextConfig(49408, 512, 2048, 12, 8, 77, 1e-5, "quick_gelu"), d);
        ClipTextConfig real = ClipTextConfig.from(ModelFolder.open(Reference.sdV14Configs()).config("text_encoder"));
        assertEquals(768, real.hiddenSize());
        assertEquals(12, real.numAttentionHeads());
        assertEquals(3072, real.intermediateSize());
    }
}
