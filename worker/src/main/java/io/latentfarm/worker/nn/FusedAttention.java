package io.latentfarm.worker.nn;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * PyTorch's fused {@code scaled_dot_product_attention}, which DJL does not expose: a TorchScript
 * module whose source libtorch compiles at load time. The archive is written here (no Python, no
 * binary in the repository). The fused kernel never materialises the [batch*heads, lq, lk] score
 * tensor and is several times faster than matmul + softmax at SD's 64x64 latents (FACTS.md).
 * Unavailable -> callers fall back to matmul + softmax; {@code -Dlatentfarm.attention=matmul}
 * forces the fallback.
 */
final class FusedAttention {
    private static final Logger LOG = LoggerFactory.getLogger(FusedAttention.class);

    /** TorchScript source of the module, in the form torch.jit.save writes code/__torch__.py. */
    private static final String SOURCE = String.join("\n",
            "class SDPA(Module):",
            "  __parameters__ = []",
            "  __buffers__ = []",
            "  training : bool",
            "  def forward(self: __torch__.SDPA,",
            "    q: Tensor,",
            "    k: Tensor,",
            "    v: Tensor) -> Tensor:",
            "    return torch.scaled_dot_product_attention(q, k, v)",
            "");
    /** pickle protocol 2 of an SDPA object with training=False: GLOBAL, NEWOBJ, BUILD. */
    private static final byte[] DATA_PKL = concat(new byte[]{(byte) 0x80, 2},
            "c__torch__\nSDPA\nq\u0000)\u0081}(X\u0008\u0000\u0000\u0000trainingq\u0001\u0089ub.".getBytes(StandardCharsets.ISO_8859_1));
    private static final byte[] CONSTANTS_PKL = {(byte) 0x80, 2, ')', '.'};

    /** Held for the life of the process: a collected Model releases its module under the block. */
    private static Model model;
    private static volatile Block block;
    private static volatile boolean tried;

    private FusedAttention() {
    }

    /** The fused kernel, or null when it is switched off or could not be loaded. */
    static Block block() {
        if (!tried) {
            synchronized (FusedAttention.class) {
                if (!tried) {
                    block = "matmul".equals(System.getProperty("latentfarm.attention")) ? null : load();
                    tried = true;
                }
            }
        }
        return block;
    }

    /**
     * softmax(q k^T / sqrt(head_dim)) v for [batch*heads, len, head_dim] inputs; the result lands in
     * q's manager.
     */
    static NDArray attend(Block sdpa, NDArray q, NDArray k, NDArray v) {
        // libtorch takes its flash-attention CPU kernel for 4-d inputs only (3-d ones go the slow
        // composite way): view [batch*heads, len, dim] as [1, batch*heads, len, dim]
        try (NDList in = new NDList(q.expandDims(0), k.expandDims(0), v.expandDims(0));
             NDArray out = sdpa.forward(new ParameterStore(q.getManager(), false), in, false).singletonOrThrow()) {
            return out.squeeze(0);
        }
    }

    private static Block load() {
        try {
            Path dir = Files.createTempDirectory("latentfarm-sdpa");
            Path file = dir.resolve("sdpa.pt");
            writeArchive(file);
            // the Model lives as long as the process: its block is shared by every pipeline
            Model loaded = Model.newInstance("sdpa", "PyTorch");
            loaded.load(dir, "sdpa.pt");
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
            model = loaded;
            return loaded.getBlock();
        } catch (Exception | LinkageError e) {
            LOG.warn("fused attention unavailable, using matmul + softmax: {}", e.toString());
            return null;
        }
    }

    /** A TorchScript archive: every record under one folder, stored uncompressed. */
    private static void writeArchive(Path file) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            stored(zip, "sdpa/data.pkl", DATA_PKL);
            stored(zip, "sdpa/code/__torch__.py", SOURCE.getBytes(StandardCharsets.UTF_8));
            stored(zip, "sdpa/constants.pkl", CONSTANTS_PKL);
            stored(zip, "sdpa/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
