package io.latentfarm.model.unet;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.model.files.Configs;
import io.latentfarm.model.files.ModelException;

import java.util.Arrays;
import java.util.List;

/**
 * unet/config.json of a diffusers UNet2DConditionModel, with diffusers' defaults for absent keys.
 * Per-block settings that diffusers accepts as one number or a list ({@code attention_head_dim},
 * {@code cross_attention_dim}, {@code layers_per_block}, {@code only_cross_attention},
 * {@code transformer_layers_per_block}) are expanded to one entry per down block, in down-block
 * order. Options of later UNet families that this implementation does not have are rejected by
 * name rather than ignored.
 *
 * @param attentionHeads SD v1's quirk: diffusers' {@code attention_head_dim} is the number of
 *     attention heads of each block (the head size is channels / heads)
 */
public record UNetConfig(
        int inChannels,
        int outChannels,
        boolean centerInputSample,
        boolean flipSinToCos,
        double freqShift,
        List<String> downBlockTypes,
        String midBlockType,
        List<String> upBlockTypes,
        boolean[] onlyCrossAttention,
        int[] blockOutChannels,
        int[] layersPerBlock,
        int downsamplePadding,
        double midBlockScaleFactor,
        String actFn,
        int normNumGroups,
        double normEps,
        int[] crossAttentionDim,
        int[] transformerLayersPerBlock,
        int[] attentionHeads,
        boolean useLinearProjection,
        boolean upcastAttention,
        double resnetOutScaleFactor,
        int timeEmbeddingDim,
        int convInKernel,
        int convOutKernel) {

    static final List<String> DEFAULT_DOWN = List.of(
            "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D");
    static final List<String> DEFAULT_UP = List.of(
            "UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D");

    public static UNetConfig fromJson(JsonNode n) {
        List<String> down = Configs.getStringList(n, "down_block_types", DEFAULT_DOWN);
        List<String> up = Configs.getStringList(n, "up_block_types", DEFAULT_UP);
        int blocks = down.size();
        if (up.size() != blocks) {
            throw new ModelException("config: up_block_types has " + up.size() + " entries, down_block_types " + blocks);
        }
        for (String t : down) {
            if (!t.equals("CrossAttnDownBlock2D") && !t.equals("DownBlock2D")) {
                throw unsupported("down_block_types", t);
            }
        }
        for (String t : up) {
            if (!t.equals("CrossAttnUpBlock2D") && !t.equals("UpBlock2D")) {
                throw unsupported("up_block_types", t);
            }
        }
        String mid = Configs.getString(n, "mid_block_type", "UNetMidBlock2DCrossAttn");
        if (!mid.equals("UNetMidBlock2DCrossAttn")) {
            throw unsupported("mid_block_type", mid);
        }
        requireDefault(n, "act_fn", "silu");
        requireDefault(n, "resnet_time_scale_shift", "default");
        requireDefault(n, "time_embedding_type", "positional");
        requireDefault(n, "attention_type", "default");
        for (String key : List.of("class_embed_type", "addition_embed_type", "encoder_hid_dim", "encoder_hid_dim_type",
                "time_cond_proj_dim", "time_embedding_act_fn", "timestep_post_act", "cross_attention_norm",
                "reverse_transformer_layers_per_block", "num_class_embeds")) {
            JsonNode v = n.get(key);
            if (v != null && !v.isNull()) {
                throw new ModelException("config: " + key + " = " + v + " is not supported (SD v1/v2 UNets leave it unset)");
            }
        }
        if (Configs.getBool(n, "dual_cross_attention", false)) {
            throw unsupported("dual_cross_attention", "true");
        }
        if (Configs.getBool(n, "resnet_skip_time_act", false)) {
            throw unsupported("resnet_skip_time_act", "true");
        }
        JsonNode heads = n.get("num_attention_heads");
        if (heads != null && !heads.isNull()) {
            // diffusers raises here too: its attention_head_dim already means heads for these UNets.
            throw new ModelException("config: num_attention_heads is not supported by UNet2DConditionModel; "
                    + "SD v1 configs give the head count as attention_head_dim");
        }

        int[] channels = Configs.getIntList(n, "block_out_channels", new int[]{320, 640, 1280, 1280}, blocks);
        int[] layers = Configs.getIntList(n, "layers_per_block", fill(blocks, 2), blocks);
        int[] attentionHeads = Configs.getIntList(n, "attention_head_dim", fill(blocks, 8), blocks);
        int[] crossDim = Configs.getIntList(n, "cross_attention_dim", fill(blocks, 1280), blocks);
        int[] transformerLayers = Configs.getIntList(n, "transformer_layers_per_block", fill(blocks, 1), blocks);
        boolean[] onlyCross = Configs.getBoolList(n, "only_cross_attention", false, blocks);
        checkLength("block_out_channels", channels.length, blocks);
        checkLength("layers_per_block", layers.length, blocks);
        checkLength("attention_head_dim", attentionHeads.length, blocks);
        checkLength("cross_attention_dim", crossDim.length, blocks);
        checkLength("transformer_layers_per_block", transformerLayers.length, blocks);
        JsonNode oca = n.get("only_cross_attention");
        if (oca != null && oca.isArray()) {
            checkLength("only_cross_attention", oca.size(), blocks);
        }
        int groups = Configs.getInt(n, "norm_num_groups", 32);
        for (int i = 0; i < blocks; i++) {
            if (channels[i] % attentionHeads[i] != 0) {
                throw new ModelException("config: block_out_channels[" + i + "] = " + channels[i]
                        + " does not split into attention_head_dim = " + attentionHeads[i] + " heads");
            }
            if (channels[i] % groups != 0) {
                throw new ModelException("config: block_out_channels[" + i + "] = " + channels[i]
                        + " does not split into norm_num_groups = " + groups);
            }
        }
        return new UNetConfig(
                Configs.getInt(n, "in_channels", 4),
                Configs.getInt(n, "out_channels", 4),
                Configs.getBool(n, "center_input_sample", false),
                Configs.getBool(n, "flip_sin_to_cos", true),
                Configs.getDouble(n, "freq_shift", 0),
                down, mid, up, onlyCross, channels, layers,
                Configs.getInt(n, "downsample_padding", 1),
                Configs.getDouble(n, "mid_block_scale_factor", 1),
                Configs.getString(n, "act_fn", "silu"),
                groups,
                Configs.getDouble(n, "norm_eps", 1e-5),
                crossDim, transformerLayers, attentionHeads,
                Configs.getBool(n, "use_linear_projection", false),
                Configs.getBool(n, "upcast_attention", false),
                Configs.getDouble(n, "resnet_out_scale_factor", 1.0),
                Configs.getInt(n, "time_embedding_dim", channels[0] * 4),
                Configs.getInt(n, "conv_in_kernel", 3),
                Configs.getInt(n, "conv_out_kernel", 3));
    }

    /** The number of down (and up) blocks. */
    public int blocks() {
        return downBlockTypes.size();
    }

    private static int[] fill(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    private static void checkLength(String key, int length, int blocks) {
        if (length != blocks) {
            throw new ModelException("config: " + key + " has " + length + " entries, but there are " + blocks + " down blocks");
        }
    }

    private static void requireDefault(JsonNode n, String key, String expected) {
        String v = Configs.getString(n, key, expected);
        if (!v.equals(expected)) {
            throw unsupported(key, v);
        }
    }

    private static ModelException unsupported(String key, String value) {
        return new ModelException("config: " + key + " = " + value + " is not supported (SD v1 UNet2DConditionModel)");
    }
}
