package io.latentfarm.model.text;

/**
 * A prompt tokenized for a CLIP text encoder.
 *
 * @param ids       exactly {@code model_max_length} (77) ids: bos, BPE ids, eos, then padding
 * @param tokens    the length of bos + BPE ids + eos before truncation (so it can exceed 77), like
 *                  the fixture's {@code num_tokens_unpadded}
 * @param truncated whether ids were cut to fit: then {@code tokens > ids.length}
 */
public record ClipTokens(long[] ids, int tokens, boolean truncated) {
}
