package io.latentfarm.model.unet;

import ai.djl.ndarray.NDArray;
import io.latentfarm.model.files.Weights;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' UpBlock2D and, with a Transformer2DModel after each resnet, CrossAttnUpBlock2D: each
 * resnet takes the running features concatenated (on channels) with the latest unused skip
 * connection; then an optional Upsample2D.
 */
public final class UpBlock2D {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final List<Transformer2DModel> attentions = new ArrayList<>();
    private final Upsample2D upsampler;

    /**
     * @param configIndex the per-block config entry to use (diffusers reverses the down-block lists)
     * @param layers resnets in this block (layers_per_block + 1)
     * @param crossAttention true for CrossAttnUpBlock2D
     */
    public UpBlock2D(Weights vb, UNetConfig cfg, int configIndex, int layers, long inChannels, long prevOutChannels,
                     long outChannels, boolean crossAttention, boolean addUpsample) {
        int heads = cfg.attentionHeads()[configIndex];
        for (int j = 0; j < layers; j++) {
            long skipChannels = j == layers - 1 ? inChannels : outChannels;
            long resnetIn = j == 0 ? prevOutChannels : outChannels;
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(j), resnetIn + skipChannels, outChannels,
                    cfg.timeEmbeddingDim(), cfg.normNumGroups(), cfg.normEps(), cfg.resnetOutScaleFactor()));
            if (crossAttention) {
                attentions.add(new Transformer2DModel(vb.pp("attentions").pp(j), heads, outChannels / heads,
                        outChannels, cfg.transformerLayersPerBlock()[configIndex], cfg.crossAttentionDim()[configIndex],
                        cfg.normNumGroups(), cfg.useLinearProjection(), cfg.onlyCrossAttention()[configIndex],
                        cfg.upcastAttention()));
            }
        }
        this.upsampler = addUpsample ? new Upsample2D(vb.pp("upsamplers").pp(0), outChannels, outChannels) : null;
    }

    public int resnetCount() {
        return resnets.size();
    }

    /**
     * @param x input (not closed)
     * @param skips the skip connections; this block removes and closes the last {@link #resnetCount()}
     * @param upsampleSize the size to upsample to, or null for 2x
     */
    public NDArray forward(NDArray x, NDArray temb, NDArray context, List<NDArray> skips, long[] upsampleSize) {
        NDArray h = x;
        for (int j = 0; j < resnets.size(); j++) {
            NDArray skip = skips.remove(skips.size() - 1);
            NDArray joined = h.concat(skip, 1);
            skip.close();
            if (h != x) {
                h.close();
            }
            h = resnets.get(j).forward(joined, temb);
            joined.close();
            if (!attentions.isEmpty()) {
                NDArray attended = attentions.get(j).forward(h, context);
                h.close();
                h = attended;
            }
        }
        if (upsampler != null) {
            NDArray up = upsampler.forward(h, upsampleSize);
            if (h != x) {
                h.close();
            }
            h = up;
        }
        return h;
    }
}
