package io.latentfarm.model.files;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A memory-mapped safetensors file. The header is parsed once; each tensor is mapped as its own
 * slice on demand, so files over 2 GiB work and nothing is copied until a caller converts a tensor.
 * Slices are mapped {@code PRIVATE} (copy-on-write): a read-only mapping crashes the JVM when a
 * native op writes into a tensor built on it (in-place ops do).
 */
public final class SafeTensors implements TensorFile {

    /** One tensor's header entry: dtype, shape and byte range inside the data section. */
    public record Entry(String name, SafeTensorDType dtype, long[] shape, long begin, long end) {
        public long elementCount() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public String shapeString() {
            return Arrays.toString(shape);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    /** A header over 100 MB is not a header: refuse it before allocating. */
    private static final long MAX_HEADER_BYTES = 100L << 20;

    private final Path file;
    private final FileChannel channel;
    private final boolean privateMappable;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(Path file, FileChannel channel, boolean privateMappable, long dataStart,
                        Map<String, Entry> entries, Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.privateMappable = privateMappable;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Opens and validates the header of {@code file}. */
    public static SafeTensors open(Path file) {
        FileChannel ch;
        boolean writable = Files.isWritable(file);
        try {
            // Copy-on-write (PRIVATE) mappings need a channel opened for writing; nothing is ever
            // written to the file through it.
            ch = writable ? FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)
                    : FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelException(file + ": file not found");
        } catch (IOException e) {
            throw new ModelException(file + ": cannot open (" + e.getMessage() + ")", e);
        }
        try {
            return readHeader(file, ch, writable);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafeTensors readHeader(Path file, FileChannel ch, boolean writable) {
        try {
            long size = ch.size();
            if (size < 8) {
                throw corrupt(file, "file is " + size + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
                throw corrupt(file, "header length " + headerLen + " does not fit a file of " + size + " bytes");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            JsonNode root;
            try {
                root = JSON.readTree(header.array());
            } catch (IOException e) {
                throw corrupt(file, "header is not valid JSON (" + firstLine(e.getMessage()) + ")");
            }
            if (root == null || !root.isObject()) {
                throw corrupt(file, "header is not a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = Collections.emptyMap();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                if (f.getKey().equals("__metadata__")) {
                    metadata = readMetadata(f.getValue());
                    continue;
                }
                entries.put(f.getKey(), readEntry(file, f.getKey(), f.getValue(), dataLen));
            }
            return new SafeTensors(file, ch, writable, dataStart, Collections.unmodifiableMap(entries), metadata);
        } catch (IOException e) {
            throw new ModelException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    private static Entry readEntry(Path file, String name, JsonNode n, long dataLen) {
        if (!n.isObject() || !n.path("dtype").isTextual() || !n.path("shape").isArray()
                || !n.path("data_offsets").isArray() || n.path("data_offsets").size() != 2) {
            throw corrupt(file, "tensor '" + name + "' has no valid dtype/shape/data_offsets");
        }
        String dtypeName = n.get("dtype").asText();
        SafeTensorDType dtype = SafeTensorDType.parse(dtypeName);
        long[] shape = new long[n.get("shape").size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = n.get("shape").get(i);
            if (!d.canConvertToLong() || d.asLong() < 0) {
                throw corrupt(file, "tensor '" + name + "' has a bad shape " + n.get("shape"));
            }
            shape[i] = d.asLong();
            count = Math.multiplyExact(count, shape[i]);
        }
        long begin = n.get("data_offsets").get(0).asLong(-1);
        long end = n.get("data_offsets").get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataLen) {
            throw corrupt(file, "tensor '" + name + "' has data_offsets [" + begin + ", " + end
                    + "] outside the " + dataLen + "-byte data section");
        }
        if (dtype != null && (end - begin) != count * dtype.bytes) {
            throw corrupt(file, "tensor '" + name + "' is " + (end - begin) + " bytes but " + dtypeName
                    + Arrays.toString(shape) + " needs " + count * dtype.bytes);
        }
        // An unsupported dtype is only an error when someone asks for that tensor.
        return new Entry(name, dtype, shape, begin, end);
    }

    private static Map<String, String> readMetadata(JsonNode n) {
        Map<String, String> m = new LinkedHashMap<>();
        n.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        return Collections.unmodifiableMap(m);
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
    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** The header entry of {@code name}; throws naming the file when it is absent. */
    @Override
    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new ModelException(file + ": tensor '" + name + "' is missing");
        }
        return e;
    }

    /** Little-endian bytes of one tensor, mapped read-only: for reading in Java only. */
    @Override
    public ByteBuffer bytes(String name) {
        return map(supported(entry(name)), FileChannel.MapMode.READ_ONLY);
    }

    /**
     * Little-endian bytes of one tensor that native code may also write: a copy-on-write mapping
     * when the file could be opened for writing (zero-copy), else a direct copy of this tensor alone.
     * A native tensor built on a read-only mapping crashes the JVM on its first in-place op.
     */
    @Override
    public ByteBuffer nativeBytes(String name) {
        Entry e = supported(entry(name));
        if (privateMappable) {
            return map(e, FileChannel.MapMode.PRIVATE);
        }
        ByteBuffer src = map(e, FileChannel.MapMode.READ_ONLY);
        ByteBuffer copy = ByteBuffer.allocateDirect(src.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(src).flip();
        return copy;
    }

    /**
     * Reads one tensor's little-endian bytes into {@code dst} (from its position; flipped on return)
     * with plain reads: no mapping stays behind, so the file's pages do not count in this process's
     * resident memory once the caller is done with {@code dst}.
     */
    public ByteBuffer readInto(String name, ByteBuffer dst) {
        Entry e = supported(entry(name));
        long len = e.end() - e.begin();
        if (dst.remaining() < len) {
            throw new IllegalArgumentException(name + ": " + len + " bytes do not fit in " + dst.remaining());
        }
        ByteBuffer view = dst.slice().limit(Math.toIntExact(len));
        try {
            long pos = dataStart + e.begin();
            while (view.hasRemaining()) {
                int n = channel.read(view, pos + view.position());
                if (n < 0) {
                    throw new ModelException(file + ": tensor '" + name + "' is cut short");
                }
            }
        } catch (IOException ex) {
            throw new ModelException(file + ": cannot read tensor '" + name + "' (" + ex.getMessage() + ")", ex);
        }
        return dst.limit(dst.position() + Math.toIntExact(len)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private ByteBuffer map(Entry e, FileChannel.MapMode mode) {
        long len = e.end() - e.begin();
        if (len > Integer.MAX_VALUE) {
            throw new ModelException(file + ": tensor '" + e.name() + "' is over 2 GiB by itself");
        }
        try {
            if (len == 0) {
                return ByteBuffer.allocateDirect(0).order(ByteOrder.LITTLE_ENDIAN);
            }
            return channel.map(mode, dataStart + e.begin(), len).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException ex) {
            throw new ModelException(file + ": cannot map tensor '" + e.name() + "' (" + ex.getMessage() + ")", ex);
        }
    }

    /** The tensor converted to float32 (F32, F16 and BF16; integers are widened). */
    public float[] floats(String name) {
        Entry e = supported(entry(name));
        ByteBuffer b = bytes(name);
        int n = Math.toIntExact(e.elementCount());
        float[] out = new float[n];
        switch (e.dtype()) {
            case F32 -> b.asFloatBuffer().get(out);
            case F16 -> {
                for (int i = 0; i < n; i++) out[i] = HalfFloats.halfToFloat(b.getShort(2 * i));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
            }
            case I64 -> {
                for (int i = 0; i < n; i++) out[i] = b.getLong(8 * i);
            }
            case I32 -> {
                for (int i = 0; i < n; i++) out[i] = b.getInt(4 * i);
            }
            case U8 -> {
                for (int i = 0; i < n; i++) out[i] = b.get(i) & 0xff;
            }
        }
        return out;
    }

    /** The tensor as longs (I64, I32, U8 only). */
    public long[] longs(String name) {
        Entry e = supported(entry(name));
        ByteBuffer b = bytes(name);
        int n = Math.toIntExact(e.elementCount());
        long[] out = new long[n];
        switch (e.dtype()) {
            case I64 -> b.asLongBuffer().get(out);
            case I32 -> {
                for (int i = 0; i < n; i++) out[i] = b.getInt(4 * i);
            }
            case U8 -> {
                for (int i = 0; i < n; i++) out[i] = b.get(i) & 0xff;
            }
            default -> throw new ModelException(file + ": tensor '" + name + "' is " + e.dtype()
                    + ", not an integer tensor");
        }
        return out;
    }

    /** The tensor's raw bytes (U8 images and the like). */
    public byte[] byteArray(String name) {
        ByteBuffer b = bytes(name);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    private Entry supported(Entry e) {
        if (e.dtype() == null) {
            throw new ModelException(file + ": tensor '" + e.name() + "' has an unsupported dtype"
                    + " (supported: F32, F16, BF16, I64, I32, U8)");
        }
        return e;
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos + buf.position());
            if (r < 0) throw new IOException("unexpected end of file");
        }
    }

    private static ModelException corrupt(Path file, String why) {
        return new ModelException(file + ": corrupt safetensors header: " + why);
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
