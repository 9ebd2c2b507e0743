package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.latentfarm.model.files.Weights;
import io.latentfarm.model.nn.Activations;
import io.latentfarm.model.nn.Conv2d;
import io.latentfarm.model.nn.GroupNorm;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * diffusers' UNet2DConditionModel as SD v1 (and v2) use it: the noise prediction for latents at a
 * timestep, conditioned on the text encoder's hidden states. Built from unet/config.json
 * ({@link UNetConfig}) and the weights under their diffusers names.
 */
public final class UNet2DConditionModel {
    private final UNetConfig cfg;
    private final Timesteps timeProj;
    private final TimestepEmbedding timeEmbedding;
    private final Conv2d convIn;
    private final List<DownBlock2D> downBlocks = new ArrayList<>();
    private final UNetMidBlock2DCrossAttn midBlock;
    private final List<UpBlock2D> upBlocks = new ArrayList<>();
    private final GroupNorm convNormOut;
    private final Conv2d convOut;

    public UNet2DConditionModel(UNetConfig cfg, Weights vb) {
        this.cfg = cfg;
        int[] channels = cfg.blockOutChannels();
        int blocks = cfg.blocks();
        this.timeProj = new Timesteps(channels[0], cfg.flipSinToCos(), cfg.freqShift());
        this.timeEmbedding = new TimestepEmbedding(vb.pp("time_embedding"), channels[0], cfg.timeEmbeddingDim());
        this.convIn = new Conv2d(vb.pp("conv_in"), cfg.inChannels(), channels[0], cfg.convInKernel(), 1,
                (cfg.convInKernel() - 1) / 2);

        long out = channels[0];
        for (int i = 0; i < blocks; i++) {
            long in = out;
            out = channels[i];
            downBlocks.add(new DownBlock2D(vb.pp("down_blocks").pp(i), cfg, i, in, out,
                    cfg.downBlockTypes().get(i).equals("CrossAttnDownBlock2D"), i < blocks - 1));
        }
        this.midBlock = new UNetMidBlock2DCrossAttn(vb.pp("mid_block"), cfg);

        out = channels[blocks - 1];
        for (int i = 0; i < blocks; i++) {
            int configIndex = blocks - 1 - i;
            long prevOut = out;
            out = channels[configIndex];
            long in = channels[Math.max(configIndex - 1, 0)];
            upBlocks.add(new UpBlock2D(vb.pp("up_blocks").pp(i), cfg, configIndex, cfg.layersPerBlock()[configIndex] + 1,
                    in, prevOut, out, cfg.upBlockTypes().get(i).equals("CrossAttnUpBlock2D"), i < blocks - 1));
        }
        this.convNormOut = new GroupNorm(vb.pp("conv_norm_out"), cfg.normNumGroups(), channels[0], cfg.normEps());
        this.convOut = new Conv2d(vb.pp("conv_out"), channels[0], cfg.outChannels(), cfg.convOutKernel(), 1,
                (cfg.convOutKernel() - 1) / 2);
    }

    public UNetConfig config() {
        return cfg;
    }

    /** {@link #forward(NDArray, NDArray, NDArray, BiConsumer)} without a tap. */
    public NDArray forward(NDArray sample, NDArray timestep, NDArray encoderHiddenStates) {
        return forward(sample, timestep, encoderHiddenStates, null);
    }

    /**
     * The predicted noise [B, out_channels, h, w].
     *
     * @param sample latents [B, in_channels, h, w]
     * @param timestep a 0-d or one-element tensor (broadcast over the batch) or [B]; int64 or float
     * @param encoderHiddenStates [B, tokens, cross_attention_dim]
     * @param tap if not null, sees intermediates by diffusers' names: "time_proj", "time_embedding",
     *     "conv_in", "mid_block" (only during the call; it must not close them)
     */
    public NDArray forward(NDArray sample, NDArray timestep, NDArray encoderHiddenStates,
                           BiConsumer<String, NDArray> tap) {
        checkInputs(sample, encoderHiddenStates);
        long batch = sample.getShape().get(0);
        NDArray emb = timeEmbedding(timestep, batch, sample, tap);
        List<NDArray> skips = new ArrayList<>();
        NDArray h = null;
        try {
            NDArray input = sample;
            if (cfg.centerInputSample()) {
                input = sample.mul(2).subi(1);
            }
            h = convIn.forward(input);
            if (input != sample) {
                input.close();
            }
            tap(tap, "conv_in", h);
            skips.add(h);
            for (DownBlock2D block : downBlocks) {
                block.forward(h, emb, encoderHiddenStates, skips);
                h = skips.get(skips.size() - 1);
            }
            h = midBlock.forward(h, emb, encoderHiddenStates);
            tap(tap, "mid_block", h);
            for (int i = 0; i < upBlocks.size(); i++) {
                UpBlock2D block = upBlocks.get(i);
                long[] upsampleSize = null;
                if (i < upBlocks.size() - 1) {
                    // The skip the next block starts with fixes the size: odd sizes round down going down.
                    Shape s = skips.get(skips.size() - 1 - block.resnetCount()).getShape();
                    upsampleSize = new long[]{s.get(2), s.get(3)};
                }
                NDArray next = block.forward(h, emb, encoderHiddenStates, skips, upsampleSize);
                h.close();
                h = next;
            }
            NDArray normed = convNormOut.forward(h);
            h.close();
            h = null;
            NDArray act = Activations.silu(normed);
            normed.close();
            NDArray out = convOut.forward(act);
            act.close();
            return out;
        } finally {
            emb.close();
            NDArray last = h;
            if (last != null && skips.stream().noneMatch(skip -> skip == last)) {
                last.close();
            }
            skips.forEach(NDArray::close);
        }
    }

    private void checkInputs(NDArray sample, NDArray encoderHiddenStates) {
        Shape s = sample.getShape();
        if (s.dimension() != 4 || s.get(1) != cfg.inChannels()) {
            throw new IllegalArgumentException("UNet sample must be [batch, " + cfg.inChannels() + ", h, w], got " + s);
        }
        Shape e = encoderHiddenStates.getShape();
        if (e.dimension() != 3 || e.get(0) != s.get(0)) {
            throw new IllegalArgumentException("encoder hidden states must be [" + s.get(0) + ", tokens, dim], got " + e);
        }
        for (int dim : cfg.crossAttentionDim()) {
            if (e.get(2) != dim) {
                throw new IllegalArgumentException("encoder hidden states have size " + e.get(2)
                        + ", this UNet's cross_attention_dim is " + dim);
            }
        }
    }

    /** time_proj then time_embedding; the float32 sinusoids are cast to the sample's dtype as diffusers does. */
    private NDArray timeEmbedding(NDArray timestep, long batch, NDArray sample, BiConsumer<String, NDArray> tap) {
        NDArray t = timestep.toDevice(sample.getDevice(), false);
        NDArray tf = t.toType(DataType.FLOAT32, false);
        if (t != timestep && t != tf) {
            t.close();
        }
        NDArray flat = tf.reshape(-1);
        if (tf != timestep) {
            tf.close();
        }
        if (flat.size() == 1 && batch != 1) {
            NDArray broadcast = flat.broadcast(batch);
            flat.close();
            flat = broadcast;
        } else if (flat.size() != batch) {
            flat.close();
            throw new IllegalArgumentException("timestep has " + timestep.size() + " values for a batch of " + batch);
        }
        NDArray proj = timeProj.forward(flat);
        flat.close();
        if (proj.getDataType() != sample.getDataType()) {
            NDArray cast = proj.toType(sample.getDataType(), false);
            proj.close();
            proj = cast;
        }
        tap(tap, "time_proj", proj);
        NDArray emb = timeEmbedding.forward(proj);
        proj.close();
        tap(tap, "time_embedding", emb);
        return emb;
    }

    private static void tap(BiConsumer<String, NDArray> tap, String name, NDArray value) {
        if (tap != null) {
            tap.accept(name, value);
        }
    }
}
