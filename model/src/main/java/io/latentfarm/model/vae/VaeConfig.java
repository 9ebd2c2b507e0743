package io.latentfarm.model.vae;

import com.fasterxml.jackson.databind.JsonNode;
import io.latentfarm.model.files.Configs;
import io.latentfarm.model.files.ModelException;

import java.util.List;

/**
 * vae/config.json of a diffusers AutoencoderKL, with diffusers' defaults for absent keys (SD v1-4's
 * file omits norm_num_groups: 32).
 *
 * @param shiftFactor null when the config has none (SD v1)
 */
public record VaeConfig(
        int inChannels,
        int outChannels,
        List<String> downBlockTypes,
        List<String> upBlockTypes,
        int[] blockOutChannels,
        int layersPerBlock,
        String actFn,
        int latentChannels,
        int normNumGroups,
        int sampleSize,
        double scalingFactor,
        Double shiftFactor,
        boolean forceUpcast,
        boolean useQuantConv,
        boolean usePostQuantConv,
        boolean midBlockAddAttention) {

    public static VaeConfig fromJson(JsonNode n) {
        List<String> down = Configs.getStringList(n, "down_block_types", List.of("DownEncoderBlock2D"));
        List<String> up = Configs.getStringList(n, "up_block_types", List.of("UpDecoderBlock2D"));
        int[] channels = Configs.getIntList(n, "block_out_channels", new int[]{64}, down.size());
        for (String t : down) {
            if (!t.equals("DownEncoderBlock2D")) throw unsupported("down_block_types", t);
        }
        for (String t : up) {
            if (!t.equals("UpDecoderBlock2D")) throw unsupported("up_block_types", t);
        }
        if (down.size() != channels.length || up.size() != channels.length) {
            throw new ModelException("config: block_out_channels has " + channels.length + " entries, down_block_types "
                    + down.size() + ", up_block_types " + up.size());
        }
        String act = Configs.getString(n, "act_fn", "silu");
        if (!act.equals("silu")) throw unsupported("act_fn", act);
        int groups = Configs.getInt(n, "norm_num_groups", 32);
        for (int c : channels) {
            if (c % groups != 0) {
                throw new ModelException("config: block_out_channels entry " + c + " does not split into norm_num_groups = " + groups);
            }
        }
        JsonNode shift = n.get("shift_factor");
        return new VaeConfig(
                Configs.getInt(n, "in_channels", 3),
                Configs.getInt(n, "out_channels", 3),
                down, up, channels,
                Configs.getInt(n, "layers_per_block", 1),
                act,
                Configs.getInt(n, "latent_channels", 4),
                groups,
                Configs.getInt(n, "sample_size", 32),
                Configs.getDouble(n, "scaling_factor", 0.18215),
                shift == null || shift.isNull() ? null : Configs.getDouble(n, "shift_factor", 0),
                Configs.getBool(n, "force_upcast", true),
                Configs.getBool(n, "use_quant_conv", true),
                Configs.getBool(n, "use_post_quant_conv", true),
                Configs.getBool(n, "mid_block_add_attention", true));
    }

    private static ModelException unsupported(String key, String value) {
        return new ModelException("config: " + key + " = " + value + " is not supported (AutoencoderKL of SD v1)");
    }
}
