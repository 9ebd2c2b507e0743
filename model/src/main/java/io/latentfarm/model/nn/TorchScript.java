package io.latentfarm.model.nn;

import ai.djl.Model;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A TorchScript module whose source libtorch compiles at load time: the ops DJL does not expose
 * (fused attention) or cannot run (bfloat16 math: DJL aborts the JVM on BF16 NDArray operations)
 * written as TorchScript methods. The archive is written here (no Python, no binary in the
 * repository).
 */
final class TorchScript {
    /** Held for the life of the module: a collected Model releases its module under the block. */
    private final Model model;
    private final PtSymbolBlock block;
    private final NDManager markerManager = NDManager.newBaseManager();
    private final Map<String, NDArray> markers = new ConcurrentHashMap<>();

    private TorchScript(Model model) {
        this.model = model;
        this.block = (PtSymbolBlock) model.getBlock();
    }

    /**
     * Compiles {@code methods} (TorchScript code, each {@code def name(self: __torch__.CLASS, ...)}
     * indented by two spaces, with {@code CLASS} standing for the class name) as a module with no
     * parameters.
     */
    static TorchScript compile(String className, String methods) throws IOException, MalformedModelException {
        String source = "class " + className + "(Module):\n"
                + "  __parameters__ = []\n"
                + "  __buffers__ = []\n"
                + "  training : bool\n"
                + methods.replace("CLASS", className);
        Path dir = Files.createTempDirectory("latentfarm-script");
        Path file = dir.resolve(className + ".pt");
        try {
            writeArchive(file, className, source);
            Model loaded = Model.newInstance(className, "PyTorch");
            loaded.load(dir, className + ".pt");
            return new TorchScript(loaded);
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * Runs {@code method} on tensors; the result lands in the first input's manager. Outside
     * inference mode (autograd records nothing: no input requires grad), so that the result is an
     * ordinary tensor later in-place ops may update.
     */
    NDArray call(String method, NDArray... inputs) {
        NDList list = new NDList(inputs.length + 1);
        // DJL reads a dotted array name (a weight's) as a dictionary key: pass the arrays unnamed
        String[] names = new String[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            names[i] = inputs[i].getName();
            if (names[i] != null) inputs[i].setName(null);
            list.add(inputs[i]);
        }
        list.add(methodMarker(method));
        try {
            return IValueUtils.forward(block, list, true).singletonOrThrow();
        } finally {
            for (int i = 0; i < inputs.length; i++) {
                if (names[i] != null) inputs[i].setName(names[i]);
            }
        }
    }

    /** An array whose name tells DJL which method to run; DJL does not pass it to the method. */
    private NDArray methodMarker(String method) {
        return markers.computeIfAbsent(method, m -> {
            NDArray marker = markerManager.create(0f);
            marker.setName("module_method:" + m);
            return marker;
        });
    }

    /** The block, for callers that pass an NDList to forward. */
    PtSymbolBlock block() {
        return block;
    }

    private static void writeArchive(Path file, String className, String source) throws IOException {
        // pickle protocol 2 of an object of the class with training=False: GLOBAL, NEWOBJ, BUILD
        byte[] data = concat(new byte[]{(byte) 0x80, 2},
                ("c__torch__\n" + className + "\nq\u0000)\u0081}(X\u0008\u0000\u0000\u0000trainingq\u0001\u0089ub.")
                        .getBytes(StandardCharsets.ISO_8859_1));
        byte[] constants = {(byte) 0x80, 2, ')', '.'};
        String root = className.toLowerCase(java.util.Locale.ROOT);
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            stored(zip, root + "/data.pkl", data);
            stored(zip, root + "/code/__torch__.py", source.getBytes(StandardCharsets.UTF_8));
            stored(zip, root + "/constants.pkl", constants);
            stored(zip, root + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** Every record stored uncompressed, as torch.jit.save writes them. */
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
