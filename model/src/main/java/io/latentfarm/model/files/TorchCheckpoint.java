package io.latentfarm.model.files;

import io.latentfarm.model.files.SafeUnpickler.StorageRef;
import io.latentfarm.model.files.SafeUnpickler.TensorRef;
import io.latentfarm.model.files.SafeUnpickler.Tuple;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A PyTorch checkpoint in the zip format torch.save writes ({@code .ckpt}, {@code pytorch_model.bin},
 * {@code diffusion_pytorch_model.bin}): {@code <archive>/data.pkl} is read by {@link SafeUnpickler}
 * (nothing in it runs), and each tensor's bytes are mapped from its storage entry
 * {@code <archive>/data/<key>}, which torch.save stores uncompressed. The tensors are the state dict:
 * the top-level dict, or its {@code "state_dict"} (Lightning checkpoints); other values are ignored.
 */
public final class TorchCheckpoint implements TensorFile {
    /** data.pkl of a state dict is an index of names and shapes: a few MB even for SD v1. */
    private static final long MAX_PICKLE_BYTES = 256L << 20;

    private final Path file;
    private final FileChannel channel;
    private final boolean privateMappable;
    private final ZipDirectory zip;
    private final String prefix;
    private final Map<String, TensorRef> tensors;
    private final Map<String, SafeTensors.Entry> entries;

    private TorchCheckpoint(Path file, FileChannel channel, boolean privateMappable, ZipDirectory zip, String prefix,
                            Map<String, TensorRef> tensors) {
        this.file = file;
        this.channel = channel;
        this.privateMappable = privateMappable;
        this.zip = zip;
        this.prefix = prefix;
        this.tensors = tensors;
        Map<String, SafeTensors.Entry> e = new LinkedHashMap<>();
        tensors.forEach((name, t) -> {
            long count = 1;
            for (long d : t.shape()) count *= d;
            SafeTensorDType dt = t.storage().dtype();
            e.put(name, new SafeTensors.Entry(name, dt, t.shape(), 0, dt == null ? 0 : count * dt.bytes));
        });
        this.entries = Collections.unmodifiableMap(e);
    }

    public static TorchCheckpoint open(Path file) {
        boolean writable = Files.isWritable(file);
        FileChannel ch;
        try {
            // Copy-on-write (PRIVATE) mappings need a channel opened for writing; nothing is written.
            ch = writable ? FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)
                    : FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelException(file + ": file not found");
        } catch (IOException e) {
            throw new ModelException(file + ": cannot open (" + e.getMessage() + ")", e);
        }
        try {
            return read(file, ch, writable);
        } catch (IOException e) {
            close(ch);
            throw new ModelException(file + ": cannot read (" + e.getMessage() + ")", e);
        } catch (RuntimeException e) {
            close(ch);
            throw e;
        }
    }

    private static TorchCheckpoint read(Path file, FileChannel ch, boolean writable) throws IOException {
        if (ch.size() >= 2) {
            ByteBuffer magic = ZipDirectory.read(ch, 0, 2);
            if ((magic.get(0) & 0xff) == 0x80 && magic.get(1) == 2) {
                throw new ModelException(file + ": a PyTorch checkpoint in the legacy (pre-1.6, non-zip) format;"
                        + " re-save it with torch.save or convert it to safetensors");
            }
        }
        ZipDirectory zip = ZipDirectory.read(file, ch);
        ZipDirectory.Entry pkl = zip.entries().values().stream()
                .filter(e -> e.name().endsWith("data.pkl") && e.name().indexOf('/') == e.name().length() - 9)
                .findFirst()
                .orElseThrow(() -> new ModelException(file + ": no <archive>/data.pkl (not a torch.save checkpoint)"));
        String prefix = pkl.name().substring(0, pkl.name().length() - "data.pkl".length());
        ZipDirectory.Entry order = zip.entries().get(prefix + "byteorder");
        if (order != null && !new String(zip.readAll(order, 16), StandardCharsets.US_ASCII).trim().equals("little")) {
            throw new ModelException(file + ": tensors saved big-endian; latentfarm reads little-endian checkpoints");
        }
        Object root = SafeUnpickler.load(file, zip.readAll(pkl, MAX_PICKLE_BYTES), pid -> storage(file, pid));
        return new TorchCheckpoint(file, ch, writable, zip, prefix, stateDict(file, root));
    }

    private static StorageRef storage(Path file, Tuple pid) {
        List<Object> p = pid.items();
        if (p.size() < 5 || !"storage".equals(p.get(0)) || !(p.get(1) instanceof SafeUnpickler.Global type)) {
            throw new ModelException(file + ": unreadable pickle: a persistent id that is not a torch storage");
        }
        SafeTensorDType dtype = switch (type.name()) {
            case "FloatStorage" -> SafeTensorDType.F32;
            case "HalfStorage" -> SafeTensorDType.F16;
            case "BFloat16Storage" -> SafeTensorDType.BF16;
            case "LongStorage" -> SafeTensorDType.I64;
            case "IntStorage" -> SafeTensorDType.I32;
            case "ByteStorage" -> SafeTensorDType.U8;
            default -> null; // double, bool, ...: an error only if someone asks for that tensor
        };
        return new StorageRef(type.toString(), dtype, String.valueOf(p.get(2)), ((Number) p.get(4)).longValue());
    }

    private static Map<String, TensorRef> stateDict(Path file, Object root) {
        Object dict = root;
        if (root instanceof Map<?, ?> m && m.get("state_dict") instanceof Map<?, ?> sd) {
            dict = sd;
        }
        if (!(dict instanceof Map<?, ?> m)) {
            throw new ModelException(file + ": the pickle holds no state dict (a dict of tensors)");
        }
        Map<String, TensorRef> out = new LinkedHashMap<>();
        m.forEach((k, v) -> {
            if (k instanceof String name && v instanceof TensorRef t) out.put(name, t);
        });
        return Collections.unmodifiableMap(out);
    }

    @Override
    public Path file() {
        return file;
    }

    @Override
    public Set<String> names() {
        return entries.keySet();
    }

    @Override
    public SafeTensors.Entry entry(String name) {
        SafeTensors.Entry e = entries.get(name);
        if (e == null) {
            throw new ModelException(file + ": tensor '" + name + "' is missing");
        }
        return e;
    }

    @Override
    public ByteBuffer bytes(String name) {
        return tensorBytes(name, FileChannel.MapMode.READ_ONLY);
    }

    @Override
    public ByteBuffer nativeBytes(String name) {
        return tensorBytes(name, privateMappable ? FileChannel.MapMode.PRIVATE : null);
    }

    /** The tensor's bytes: a mapping of its storage slice when contiguous, else a gathered copy. */
    private ByteBuffer tensorBytes(String name, FileChannel.MapMode mode) {
        TensorRef t = tensors.get(name);
        SafeTensors.Entry e = entry(name);
        if (e.dtype() == null) {
            throw new ModelException(file + ": tensor '" + name + "' is stored as " + t.storage().storageType()
                    + " (supported: float, half, bfloat16, long, int, uint8)");
        }
        int es = e.dtype().bytes;
        long count = e.elementCount();
        long extent = 0; // the furthest element the view reads, plus one
        if (count > 0) {
            extent = t.offset() + 1;
            for (int i = 0; i < t.shape().length; i++) extent += (t.shape()[i] - 1) * t.stride()[i];
        }
        if (t.offset() < 0 || extent > t.storage().numel()) {
            throw new ModelException(file + ": tensor '" + name + "' reads past the end of its storage");
        }
        if (count == 0) {
            return ByteBuffer.allocateDirect(0).order(ByteOrder.LITTLE_ENDIAN);
        }
        try {
            if (isContiguous(t.shape(), t.stride())) {
                return slice(t.storage(), t.offset() * es, count * es, mode);
            }
            ByteBuffer src = slice(t.storage(), 0, t.storage().numel() * es, FileChannel.MapMode.READ_ONLY);
            return gather(src, t, es, count);
        } catch (IOException ex) {
            throw new ModelException(file + ": cannot read tensor '" + name + "' (" + ex.getMessage() + ")", ex);
        }
    }

    private ByteBuffer slice(StorageRef s, long byteOffset, long length, FileChannel.MapMode mode) throws IOException {
        ZipDirectory.Entry data = zip.entries().get(prefix + "data/" + s.key());
        if (data == null) {
            throw new ModelException(file + ": storage entry '" + prefix + "data/" + s.key() + "' is missing");
        }
        if (length > Integer.MAX_VALUE) {
            throw new ModelException(file + ": a tensor of storage " + s.key() + " is over 2 GiB by itself");
        }
        if (byteOffset + length > data.size()) {
            throw new ModelException(file + ": storage entry '" + data.name() + "' is shorter than its tensors");
        }
        if (data.method() != 0) {
            // a re-zipped archive: inflate this storage alone
            byte[] all = zip.readAll(data, Integer.MAX_VALUE - 8);
            ByteBuffer copy = ByteBuffer.allocateDirect((int) length).order(ByteOrder.LITTLE_ENDIAN);
            copy.put(all, (int) byteOffset, (int) length).flip();
            return copy;
        }
        long start = zip.dataOffset(data) + byteOffset;
        if (mode == null) { // native code may write into it, and the file cannot be mapped copy-on-write
            ByteBuffer src = channel.map(FileChannel.MapMode.READ_ONLY, start, length);
            ByteBuffer copy = ByteBuffer.allocateDirect((int) length).order(ByteOrder.LITTLE_ENDIAN);
            copy.put(src).flip();
            return copy;
        }
        return channel.map(mode, start, length).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static boolean isContiguous(long[] shape, long[] stride) {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /** A row-major copy of a strided view (a transposed tensor saved as is). */
    private static ByteBuffer gather(ByteBuffer src, TensorRef t, int es, long count) {
        if (count * es > Integer.MAX_VALUE) {
            throw new ModelException("a strided tensor over 2 GiB");
        }
        ByteBuffer out = ByteBuffer.allocateDirect((int) (count * es)).order(ByteOrder.LITTLE_ENDIAN);
        long[] shape = t.shape();
        long[] idx = new long[shape.length];
        byte[] element = new byte[es];
        for (long n = 0; n < count; n++) {
            long at = t.offset();
            for (int d = 0; d < shape.length; d++) at += idx[d] * t.stride()[d];
            src.get((int) (at * es), element);
            out.put(element);
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return out.flip();
    }

    @Override
    public void close() {
        close(channel);
    }

    private static void close(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
