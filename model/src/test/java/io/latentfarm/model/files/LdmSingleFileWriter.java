package io.latentfarm.model.files;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Writes a diffusers folder as one LDM-layout .safetensors (the inverse of {@link LdmCheckpoint}'s
 * renaming, checked name by name against it), to measure loading a full-size single file:
 * {@code mvn -pl worker test -Dtest=LdmSingleFileWriter -Dlatentfarm.ldm.from=DIR -Dlatentfarm.ldm.to=FILE}.
 */
class LdmSingleFileWriter {

    @Test
    @EnabledIfSystemProperty(named = "latentfarm.ldm.from", matches = ".+")
    void writeSingleFile() {
        write(Path.of(System.getProperty("latentfarm.ldm.from")), Path.of(System.getProperty("latentfarm.ldm.to")));
    }

    /** The tiny folder written this way has the tensor names diffusers' own conversion gave the fixture. */
    @Test
    void writesTheNamesOfTheFixtureSingleFile(@org.junit.jupiter.api.io.TempDir Path dir) {
        Path out = dir.resolve("tiny.safetensors");
        write(io.latentfarm.model.testing.Reference.tinyModel(), out);
        try (SafeTensors mine = SafeTensors.open(out);
             SafeTensors theirs = SafeTensors.open(io.latentfarm.model.testing.Reference.singleFile().resolve("tiny-sd-v1.safetensors"))) {
            java.util.Set<String> expected = new java.util.TreeSet<>(theirs.names());
            expected.removeIf(n -> !n.startsWith("model.diffusion_model.") && !n.startsWith("first_stage_model.")
                    && !n.startsWith("cond_stage_model.") || n.endsWith("position_ids"));
            java.util.Set<String> got = new java.util.TreeSet<>(mine.names());
            got.removeIf(n -> n.endsWith("position_ids"));
            assertEquals(expected, got);
            for (String n : got) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(theirs.entry(n).shape(), mine.entry(n).shape(), n);
            }
        }
    }

    static void write(Path folderDir, Path out) {
        ModelFolder folder = ModelFolder.open(folderDir);
        int layers = Configs.getInt(folder.config("unet"), "layers_per_block", 2);
        int vaeBlocks = Configs.getIntList(folder.config("vae"), "block_out_channels", null, 0).length;
        Map<String, TensorFile> source = new HashMap<>();
        Map<String, String> ldmToDiffusers = new LinkedHashMap<>();
        List<SafeTensorsWriter.Spec> specs = new ArrayList<>();
        for (String component : List.of("unet", "vae", "text_encoder")) {
            for (TensorFile f : folder.weights(component, null)) {
                for (String name : f.names()) {
                    String ldm = switch (component) {
                        case "unet" -> "model.diffusion_model." + unetToLdm(name, layers);
                        case "vae" -> "first_stage_model." + vaeToLdm(name, vaeBlocks);
                        default -> "cond_stage_model.transformer." + name;
                    };
                    String back = switch (component) {
                        case "unet" -> LdmCheckpoint.unetName(ldm.substring(22), layers);
                        case "vae" -> LdmCheckpoint.vaeName(ldm.substring(18), vaeBlocks);
                        default -> name;
                    };
                    assertEquals(name, back, "round trip of " + ldm);
                    long[] shape = f.entry(name).shape();
                    if (component.equals("vae") && ldm.contains("mid.attn_1.") && shape.length == 2) {
                        shape = new long[]{shape[0], shape[1], 1, 1}; // LDM keeps them as 1x1 convolutions
                    }
                    source.put(ldm, f);
                    ldmToDiffusers.put(ldm, name);
                    specs.add(new SafeTensorsWriter.Spec(ldm, f.entry(name).dtype() == SafeTensorDType.F16
                            ? SafeTensorDType.F16 : SafeTensorDType.F32, shape));
                }
            }
        }
        Object[] current = {null, null}; // the tensor being written: name, values
        SafeTensorsWriter.write(out, specs, Map.of("format", "pt"), (spec, offset, dst) -> {
            if (!spec.name().equals(current[0])) {
                current[0] = spec.name();
                current[1] = ((SafeTensors) source.get(spec.name())).floats(ldmToDiffusers.get(spec.name()));
            }
            System.arraycopy((float[]) current[1], (int) offset, dst, 0, dst.length);
        });
    }

    static String unetToLdm(String n, int layers) {
        String[] p = n.split("\\.");
        return switch (p[0]) {
            case "time_embedding" -> n.replace("time_embedding.linear_1.", "time_embed.0.").replace("time_embedding.linear_2.", "time_embed.2.");
            case "conv_in" -> "input_blocks.0.0." + rest(p, 1);
            case "conv_norm_out" -> "out.0." + rest(p, 1);
            case "conv_out" -> "out.2." + rest(p, 1);
            case "mid_block" -> switch (p[1] + "." + p[2]) {
                case "resnets.0" -> "middle_block.0." + resnet(rest(p, 3));
                case "attentions.0" -> "middle_block.1." + rest(p, 3);
                default -> "middle_block.2." + resnet(rest(p, 3));
            };
            case "down_blocks" -> {
                int b = Integer.parseInt(p[1]);
                if (p[2].equals("downsamplers")) yield "input_blocks." + (1 + b * (layers + 1) + layers) + ".0.op." + rest(p, 5);
                int i = 1 + b * (layers + 1) + Integer.parseInt(p[3]);
                yield p[2].equals("resnets") ? "input_blocks." + i + ".0." + resnet(rest(p, 4)) : "input_blocks." + i + ".1." + rest(p, 4);
            }
            case "up_blocks" -> {
                int b = Integer.parseInt(p[1]);
                // SD v1: up block 0 has no attentions, so its upsampler is layer 1; the others' is layer 2
                if (p[2].equals("upsamplers")) yield "output_blocks." + (b * (layers + 1) + layers) + "." + (b == 0 ? 1 : 2) + "." + rest(p, 4);
                int i = b * (layers + 1) + Integer.parseInt(p[3]);
                yield p[2].equals("resnets") ? "output_blocks." + i + ".0." + resnet(rest(p, 4)) : "output_blocks." + i + ".1." + rest(p, 4);
            }
            default -> throw new IllegalArgumentException(n);
        };
    }

    static String vaeToLdm(String n, int blocks) {
        String[] p = n.split("\\.");
        if (p.length > 1 && p[1].equals("conv_norm_out")) return p[0] + ".norm_out." + rest(p, 2);
        if (p.length > 1 && (p[1].equals("down_blocks") || p[1].equals("up_blocks"))) {
            boolean down = p[1].equals("down_blocks");
            int b = Integer.parseInt(p[2]);
            String block = p[0] + (down ? ".down." + b : ".up." + (blocks - 1 - b));
            if (p[3].equals("resnets")) return block + ".block." + p[4] + "." + rest(p, 5).replace("conv_shortcut.", "nin_shortcut.");
            return block + (down ? ".downsample." : ".upsample.") + rest(p, 5);
        }
        if (p.length > 1 && p[1].equals("mid_block")) {
            if (p[2].equals("resnets")) return p[0] + ".mid.block_" + (Integer.parseInt(p[3]) + 1) + "." + rest(p, 4).replace("conv_shortcut.", "nin_shortcut.");
            String r = rest(p, 4);
            r = r.replace("group_norm.", "norm.").replace("to_q.", "q.").replace("to_k.", "k.").replace("to_v.", "v.").replace("to_out.0.", "proj_out.");
            return p[0] + ".mid.attn_1." + r;
        }
        return n;
    }

    private static String resnet(String r) {
        return r.replace("norm1.", "in_layers.0.").replace("conv1.", "in_layers.2.").replace("norm2.", "out_layers.0.")
                .replace("conv2.", "out_layers.3.").replace("time_emb_proj.", "emb_layers.1.").replace("conv_shortcut.", "skip_connection.");
    }

    private static String rest(String[] p, int from) {
        return String.join(".", java.util.Arrays.copyOfRange(p, from, p.length));
    }
}
