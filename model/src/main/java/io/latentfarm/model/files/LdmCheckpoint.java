package io.latentfarm.model.files;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A single-file Stable Diffusion v1 checkpoint in the original CompVis/LDM layout, as A1111, ComfyUI
 * and model sites use: {@code model.diffusion_model.*} (UNet), {@code first_stage_model.*} (VAE) and
 * {@code cond_stage_model.transformer.*} (CLIP). Each component is seen under its diffusers names,
 * renamed at load time the way diffusers' {@code single_file_utils} converters rename them; nothing
 * is copied or written. {@code model_ema.*} copies and the LatentDiffusion buffers are ignored, as
 * diffusers and A1111 do by default.
 */
public final class LdmCheckpoint implements AutoCloseable {
    private static final String UNET = "model.diffusion_model.";
    private static final String VAE = "first_stage_model.";
    private static final String CLIP = "cond_stage_model.transformer.";

    private final TensorFile file;
    /** Per component: diffusers name to the name in the file. */
    private final Map<String, Map<String, String>> names = new HashMap<>();

    private LdmCheckpoint(TensorFile file, int unetLayersPerBlock) {
        this.file = file;
        Map<String, String> unet = new HashMap<>();
        Map<String, String> vae = new HashMap<>();
        Map<String, String> clip = new HashMap<>();
        int vaeUpBlocks = countVaeUpBlocks();
        for (String key : file.names()) {
            if (key.startsWith(UNET)) {
                put(unet, unetName(key.substring(UNET.length()), unetLayersPerBlock), key);
            } else if (key.startsWith(VAE)) {
                put(vae, vaeName(key.substring(VAE.length()), vaeUpBlocks), key);
            } else if (key.startsWith(CLIP)) {
                String rest = key.substring(CLIP.length());
                // transformers before 4.x-ish saved CLIPTextModel without its text_model level
                put(clip, rest.startsWith("text_model.") ? rest : "text_model." + rest, key);
            }
        }
        names.put("unet", unet);
        names.put("vae", vae);
        names.put("text_encoder", clip);
    }

    /**
     * Opens {@code path} ({@code .safetensors} mapped, anything else read as a torch.save pickle),
     * refuses a checkpoint that is not SD v1, and maps its names for a UNet of
     * {@code unetLayersPerBlock} resnets per down block (the UNet config's {@code layers_per_block}).
     */
    public static LdmCheckpoint open(Path path, int unetLayersPerBlock) {
        TensorFile file = TensorFile.open(path);
        try {
            requireSdV1(file);
            return new LdmCheckpoint(file, unetLayersPerBlock);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    public Path file() {
        return file.file();
    }

    /** One component ({@code unet}, {@code vae}, {@code text_encoder}) under its diffusers names. */
    public Weights.Source component(String component) {
        Map<String, String> map = names.get(component);
        if (map == null) {
            throw new ModelException(file.file() + ": a single-file checkpoint has no component '" + component + "'");
        }
        return new Weights.Source() {
            @Override
            public boolean contains(String fullName) {
                return map.containsKey(fullName);
            }

            @Override
            public NDArray load(String fullName, long[] expectedShape, NDManager manager) {
                String stored = map.get(fullName);
                if (stored == null) {
                    throw new ModelException(file.file() + ": " + component + " tensor '" + fullName
                            + "' is missing (no LDM-layout tensor converts to it)");
                }
                long[] shape = file.entry(stored).shape();
                if (expectedShape.length == 0 || Arrays.equals(shape, expectedShape)) {
                    return Weights.load(file, stored, expectedShape, manager);
                }
                // the VAE attention's 1x1 convolutions are diffusers' linear layers: [C, C, 1, 1] -> [C, C]
                if (!Arrays.equals(squeezeTrailingOnes(shape), squeezeTrailingOnes(expectedShape))) {
                    throw new ModelException(file.file() + ": tensor '" + stored + "' (" + component + " "
                            + fullName + ") has shape " + Arrays.toString(shape) + ", expected "
                            + Arrays.toString(expectedShape));
                }
                return Weights.loadAs(file, stored, expectedShape, manager);
            }
        };
    }

    @Override
    public void close() {
        file.close();
    }

    /** Says what the checkpoint is when it is not an SD v1 model, the way diffusers tells them apart. */
    static void requireSdV1(TensorFile f) {
        Path p = f.file();
        if (f.names().stream().anyMatch(n -> n.startsWith("conditioner.embedders."))) {
            throw new ModelException(p + ": an SDXL checkpoint (conditioner.embedders.*); latentfarm runs"
                    + " Stable Diffusion v1 models");
        }
        String convIn = UNET + "input_blocks.0.0.weight";
        if (!f.contains(convIn)) {
            throw new ModelException(p + ": not a Stable Diffusion checkpoint in the original CompVis/LDM layout"
                    + " (no " + convIn + "); a diffusers model is a folder: give the folder");
        }
        if (f.names().stream().anyMatch(n -> n.startsWith("cond_stage_model.model."))) {
            throw new ModelException(p + ": a Stable Diffusion 2.x checkpoint (OpenCLIP text encoder"
                    + " cond_stage_model.model.*); latentfarm runs Stable Diffusion v1 models");
        }
        long contextDim = f.names().stream().filter(n -> n.startsWith(UNET) && n.endsWith(".attn2.to_k.weight"))
                .findFirst().map(n -> f.entry(n).shape()[1]).orElse(768L);
        if (contextDim == 1024) {
            throw new ModelException(p + ": a Stable Diffusion 2.x checkpoint (cross-attention width 1024);"
                    + " latentfarm runs Stable Diffusion v1 models");
        }
        long inChannels = f.entry(convIn).shape()[1];
        if (inChannels == 9) {
            throw new ModelException(p + ": an inpainting checkpoint (UNet with 9 input channels);"
                    + " latentfarm runs text-to-image Stable Diffusion v1 models (4 input channels)");
        }
        if (inChannels != 4) {
            throw new ModelException(p + ": a UNet with " + inChannels + " input channels (upscaler or"
                    + " image-conditioned model); latentfarm runs text-to-image Stable Diffusion v1 models");
        }
        if (f.names().stream().noneMatch(n -> n.startsWith(CLIP))) {
            throw new ModelException(p + ": no CLIP text encoder (" + CLIP + "*); a Stable Diffusion v1"
                    + " checkpoint carries UNet, VAE and text encoder");
        }
    }

    private static final Pattern BLOCK = Pattern.compile("(input_blocks|output_blocks|middle_block)\\.(\\d+)\\.(?:(\\d+)\\.)?(.*)");

    /** diffusers' convert_ldm_unet_checkpoint, one name at a time; null for tensors diffusers drops. */
    static String unetName(String k, int layersPerBlock) {
        if (k.startsWith("time_embed.0.")) return "time_embedding.linear_1." + k.substring(13);
        if (k.startsWith("time_embed.2.")) return "time_embedding.linear_2." + k.substring(13);
        if (k.startsWith("input_blocks.0.0.")) return "conv_in." + k.substring(17);
        if (k.startsWith("out.0.")) return "conv_norm_out." + k.substring(6);
        if (k.startsWith("out.2.")) return "conv_out." + k.substring(6);
        Matcher m = BLOCK.matcher(k);
        if (!m.matches()) return null;
        int i = Integer.parseInt(m.group(2));
        String rest = m.group(4);
        if (m.group(1).equals("middle_block")) {
            // middle_block.0 / .2 are resnets, .1 the attention: the block index is the layer
            return switch (i) {
                case 0 -> "mid_block.resnets.0." + resnetName(rest(m));
                case 1 -> "mid_block.attentions.0." + rest(m);
                case 2 -> "mid_block.resnets.1." + resnetName(rest(m));
                default -> null;
            };
        }
        if (m.group(3) == null) return null;
        int j = Integer.parseInt(m.group(3));
        if (m.group(1).equals("input_blocks")) {
            int block = (i - 1) / (layersPerBlock + 1);
            int layer = (i - 1) % (layersPerBlock + 1);
            if (rest.startsWith("op.")) return "down_blocks." + block + ".downsamplers.0.conv." + rest.substring(3);
            if (j == 0) return "down_blocks." + block + ".resnets." + layer + "." + resnetName(rest);
            return "down_blocks." + block + ".attentions." + layer + "." + rest;
        }
        int block = i / (layersPerBlock + 1);
        int layer = i % (layersPerBlock + 1);
        if (j == 0) return "up_blocks." + block + ".resnets." + layer + "." + resnetName(rest);
        // the upsampler is the layer holding only conv.weight/conv.bias; the others are attentions
        if (rest.startsWith("conv.")) return "up_blocks." + block + ".upsamplers.0." + rest;
        return "up_blocks." + block + ".attentions." + layer + "." + rest;
    }

    /** middle_block.N.rest: the regex reads "N.rest" with rest's first segment as the layer; undo that. */
    private static String rest(Matcher m) {
        return m.group(3) == null ? m.group(4) : m.group(3) + "." + m.group(4);
    }

    private static String resnetName(String rest) {
        return rest.replace("in_layers.0.", "norm1.").replace("in_layers.2.", "conv1.")
                .replace("out_layers.0.", "norm2.").replace("out_layers.3.", "conv2.")
                .replace("emb_layers.1.", "time_emb_proj.").replace("skip_connection.", "conv_shortcut.");
    }

    private static final Pattern VAE_BLOCK = Pattern.compile("(encoder|decoder)\\.(down|up)\\.(\\d+)\\.(block\\.(\\d+)|downsample|upsample)\\.(.*)");
    private static final Pattern VAE_MID = Pattern.compile("(encoder|decoder)\\.mid\\.(block_1|block_2|attn_1)\\.(.*)");

    /** diffusers' convert_ldm_vae_checkpoint, one name at a time; null for tensors diffusers drops. */
    static String vaeName(String k, int upBlocks) {
        if (k.startsWith("encoder.norm_out.")) return "encoder.conv_norm_out." + k.substring(17);
        if (k.startsWith("decoder.norm_out.")) return "decoder.conv_norm_out." + k.substring(17);
        if (k.matches("(encoder|decoder)\\.(conv_in|conv_out)\\..*") || k.matches("(post_)?quant_conv\\..*")) {
            return k;
        }
        Matcher m = VAE_BLOCK.matcher(k);
        if (m.matches()) {
            boolean down = m.group(2).equals("down");
            int i = Integer.parseInt(m.group(3));
            // the LDM decoder counts its up blocks from the lowest resolution: diffusers reverses them
            String block = m.group(1) + (down ? ".down_blocks." + i : ".up_blocks." + (upBlocks - 1 - i));
            if (m.group(5) != null) return block + ".resnets." + m.group(5) + "." + vaeResnetName(m.group(6));
            return block + (down ? ".downsamplers.0." : ".upsamplers.0.") + m.group(6);
        }
        m = VAE_MID.matcher(k);
        if (m.matches()) {
            String mid = m.group(1) + ".mid_block.";
            return switch (m.group(2)) {
                case "block_1" -> mid + "resnets.0." + vaeResnetName(m.group(3));
                case "block_2" -> mid + "resnets.1." + vaeResnetName(m.group(3));
                default -> mid + "attentions.0." + vaeAttentionName(m.group(3));
            };
        }
        return null;
    }

    private static String vaeResnetName(String rest) {
        return rest.replace("nin_shortcut.", "conv_shortcut.");
    }

    private static String vaeAttentionName(String rest) {
        String[] parts = rest.split("\\.", 2);
        String renamed = switch (parts[0]) {
            case "norm" -> "group_norm";
            case "q" -> "to_q";
            case "k" -> "to_k";
            case "v" -> "to_v";
            case "proj_out" -> "to_out.0";
            default -> parts[0];
        };
        return parts.length == 1 ? renamed : renamed + "." + parts[1];
    }

    private int countVaeUpBlocks() {
        int n = 0;
        Pattern up = Pattern.compile(Pattern.quote(VAE) + "decoder\\.up\\.(\\d+)\\..*");
        for (String key : file.names()) {
            Matcher m = up.matcher(key);
            if (m.matches()) n = Math.max(n, Integer.parseInt(m.group(1)) + 1);
        }
        return n;
    }

    private void put(Map<String, String> map, String diffusersName, String stored) {
        if (diffusersName == null) return;
        String before = map.put(diffusersName, stored);
        if (before != null) {
            throw new ModelException(file.file() + ": tensors '" + before + "' and '" + stored
                    + "' both convert to '" + diffusersName + "'");
        }
    }

    private static long[] squeezeTrailingOnes(long[] shape) {
        int n = shape.length;
        while (n > 0 && shape[n - 1] == 1) n--;
        return Arrays.copyOf(shape, n);
    }
}
