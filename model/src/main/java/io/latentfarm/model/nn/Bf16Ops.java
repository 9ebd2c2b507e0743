package io.latentfarm.model.nn;

import ai.djl.ndarray.NDArray;

/**
 * The bfloat16 half of the mixed-precision path: convolution and linear math in bf16 on weights
 * held in bf16, attention in bf16 where that pays ({@link #attentionInBf16}), everything else (norms, activations, the timestep embedding, the scheduler,
 * the latents) in float32. DJL aborts the JVM on BF16 NDArray operations, so the bf16 tensors only
 * ever pass through DJL as opaque handles: every op here is a TorchScript method that takes float32
 * activations, casts them to bf16 next to the weights, and returns float32. Holding a bf16 weight
 * and passing it back in is safe; calling any NDArray method on it but close() (and getShape) is
 * not. The methods run outside inference mode so their results take in-place ops later.
 */
public final class Bf16Ops {
    /** torch's ScalarType codes, as TorchScript's serialized code spells dtypes. */
    private static final int BF16 = 15;
    private static final int F32 = 6;
    private static final String METHODS = String.join("\n",
            "  def forward(self: __torch__.CLASS, x: Tensor) -> Tensor:",
            "    return torch.to(x, " + BF16 + ")",
            "  def linear(self: __torch__.CLASS, x: Tensor, w: Tensor, b: Tensor) -> Tensor:",
            "    return torch.to(torch.linear(torch.to(x, " + BF16 + "), w, b), " + F32 + ")",
            "  def linear_no_bias(self: __torch__.CLASS, x: Tensor, w: Tensor) -> Tensor:",
            "    return torch.to(torch.linear(torch.to(x, " + BF16 + "), w), " + F32 + ")",
            // 4-d inputs take libtorch's flash-attention CPU kernel, which keeps the running max
            // and sum of the softmax in float32 for bf16 inputs
            "  def attend(self: __torch__.CLASS, q: Tensor, k: Tensor, v: Tensor) -> Tensor:",
            "    q4 = torch.unsqueeze(torch.to(q, " + BF16 + "), 0)",
            "    k4 = torch.unsqueeze(torch.to(k, " + BF16 + "), 0)",
            "    v4 = torch.unsqueeze(torch.to(v, " + BF16 + "), 0)",
            "    out = torch.scaled_dot_product_attention(q4, k4, v4)",
            "    return torch.to(torch.squeeze(out, 0), " + F32 + ")",
            "") + convMethods();
    /** The strides and paddings conv2d methods exist for (TorchScript methods take no int from DJL). */
    private static final int MAX_STRIDE = 2;
    private static final int MAX_PADDING = 3;

    private static TorchScript module;
    private static volatile Boolean attentionInBf16;

    private Bf16Ops() {
    }

    private static String convMethods() {
        StringBuilder sb = new StringBuilder();
        for (int stride = 1; stride <= MAX_STRIDE; stride++) {
            for (int padding = 0; padding <= MAX_PADDING; padding++) {
                sb.append("  def ").append(convMethod(stride, padding))
                        .append("(self: __torch__.CLASS, x: Tensor, w: Tensor, b: Tensor) -> Tensor:\n")
                        .append("    y = torch.conv2d(torch.to(x, ").append(BF16).append("), w, b, [")
                        .append(stride).append(", ").append(stride).append("], [")
                        .append(padding).append(", ").append(padding).append("])\n")
                        .append("    return torch.to(y, ").append(F32).append(")\n");
            }
        }
        return sb.toString();
    }

    private static String convMethod(int stride, int padding) {
        return "conv2d_s" + stride + "_p" + padding;
    }

    /** Throws unless bf16 conv2d exists for this stride and padding. */
    static void checkConv(String layer, int stride, int padding) {
        if (stride < 1 || stride > MAX_STRIDE || padding < 0 || padding > MAX_PADDING) {
            throw new IllegalArgumentException(layer + ": bf16 conv2d supports stride 1.." + MAX_STRIDE
                    + " and padding 0.." + MAX_PADDING + ", not stride " + stride + " padding " + padding);
        }
    }

    private static synchronized TorchScript module() {
        if (module == null) {
            try {
                module = TorchScript.compile("Bf16Ops", METHODS);
            } catch (Exception | LinkageError e) {
                throw new IllegalStateException("bf16 ops could not be compiled by libtorch: " + e, e);
            }
        }
        return module;
    }

    /** A bf16 copy of {@code x} in x's manager: an opaque handle for the methods here (see the class comment). */
    public static NDArray hold(NDArray x) {
        return module().call("forward", x);
    }

    /** The bf16 handle of {@code x}, closing {@code x}. */
    public static NDArray holdAndClose(NDArray x) {
        NDArray held = hold(x);
        x.close();
        return held;
    }

    /** conv2d of float32 {@code x} with bf16 {@code weight} and {@code bias}; float32 result. */
    public static NDArray conv2d(NDArray x, NDArray weight, NDArray bias, int stride, int padding) {
        return module().call(convMethod(stride, padding), x, weight, bias);
    }

    /** x W^T + b of float32 {@code x} with bf16 weight and (nullable) bias; float32 result. */
    public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        if (bias == null) {
            return module().call("linear_no_bias", x, weight);
        }
        return module().call("linear", x, weight, bias);
    }

    /**
     * Whether bf16 attention pays on {@code device}: on a GPU, and on a CPU with AMX-BF16. Without
     * AMX (AVX512-BF16 only) libtorch's bf16 flash-attention kernel was measured slower than its
     * float32 one (self-attention at SD's 64x64 latents 1.64 s against 1.41 s, cross-attention
     * 2.2x slower), so there attention stays float32. {@code -Dlatentfarm.bf16.attention=bf16|fp32}
     * overrides.
     */
    public static boolean attentionInBf16(ai.djl.Device device) {
        if (device.isGpu()) {
            return true;
        }
        if (attentionInBf16 == null) {
            String forced = System.getProperty("latentfarm.bf16.attention", "");
            attentionInBf16 = forced.equals("bf16") || (!forced.equals("fp32") && CpuFeatures.hasAmxBf16());
        }
        return attentionInBf16;
    }

    /** softmax(q k^T / sqrt(head_dim)) v in bf16 for float32 [batch*heads, len, head_dim]; float32 result. */
    public static NDArray attend(NDArray q, NDArray k, NDArray v) {
        return module().call("attend", q, k, v);
    }
}
