package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.files.Weights;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' DownBlock2D and, with a Transformer2DModel after each resnet, CrossAttnDownBlock2D:
 * resnets (each followed by its attention), then an optional Downsample2D. Every resnet/attention
 * output and the downsampled output are kept as skip connections for the up blocks.
 */
public final class DownBlock2D {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final List<Transformer2DModel> attentions = new ArrayList<>();
    private final Downsample2D downsampler;

    /** @param crossAttention true for CrossAttnDownBlock2D */
    public DownBlock2D(Weights vb, UNetConfig cfg, int index, long inChannels, long outChannels,
                       boolean crossAttention, boolean addDownsample) {
        int heads = cfg.attentionHeads()[index];
        for (int j = 0; j < cfg.layersPerBlock()[index]; j++) {
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(j), j == 0 ? inChannels : outChannels, outChannels,
                    cfg.timeEmbeddingDim(), cfg.normNumGroups(), cfg.normEps(), cfg.resnetOutScaleFactor()));
            if (crossAttention) {
                attentions.add(new Transformer2DModel(vb.pp("attentions").pp(j), heads, outChannels / heads,
                        outChannels, cfg.transformerLayersPerBlock()[index], cfg.crossAttentionDim()[index],
                        cfg.normNumGroups(), cfg.useLinearProjection(), cfg.onlyCrossAttention()[index],
                        cfg.upcastAttention()));
            }
        }
        this.downsampler = addDownsample
                ? new Downsample2D(vb.pp("downsamplers").pp(0), outChannels, outChannels, cfg.downsamplePadding())
                : null;
    }

    /**
     * @param x input (not closed)
     * @param skips receives this block's outputs, which the caller owns; the last is the block's output
     */
    public void forward(NDArray x, NDArray temb, NDArray context, List<NDArray> skips) {
        NDArray h = x;
        for (int j = 0; j < resnets.size(); j++) {
            h = resnets.get(j).forward(h, temb);
            if (!attentions.isEmpty()) {
                NDArray attended = attentions.get(j).forward(h, context);
                h.close();
                h = attended;
            }
            skips.add(h);
        }
        if (downsampler != null) {
            skips.add(downsampler.forward(h));
        }
    }
}
