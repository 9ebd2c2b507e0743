package io.latentfarm.model.files;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file tensor by tensor, so a 3.4 GB checkpoint never sits in memory: the
 * header is written first from the declared shapes, then each tensor's values are streamed.
 */
public final class SafeTensorsWriter {

    /** One tensor to write: its name, storage dtype (F32 or F16) and shape. */
    public record Spec(String name, SafeTensorDType dtype, long[] shape) {
        long elementCount() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    /** Fills {@code out} with elements [offset, offset + out.length) of tensor {@code spec}. */
    public interface Filler {
        void fill(Spec spec, long offset, float[] out);
    }

    private static final int CHUNK = 1 << 20;

    private SafeTensorsWriter() {
    }

    public static void write(Path file, List<Spec> specs, Map<String, String> metadata, Filler filler) {
        ObjectNode header = new ObjectMapper().createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode md = header.putObject("__metadata__");
            metadata.forEach(md::put);
        }
        long offset = 0;
        for (Spec s : specs) {
            if (s.dtype() != SafeTensorDType.F32 && s.dtype() != SafeTensorDType.F16) {
                throw new IllegalArgumentException(s.name() + ": only F32 and F16 are written");
            }
            ObjectNode t = header.putObject(s.name());
            t.put("dtype", s.dtype().name());
            ArrayNode shape = t.putArray("shape");
            for (long d : s.shape()) shape.add(d);
            long len = s.elementCount() * s.dtype().bytes;
            t.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8; // the format pads the header with spaces to 8 bytes
        Path tmp = file.resolveSibling(file.getFileName() + ".part");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) head.put((byte) ' ');
            writeAll(ch, head.flip());
            ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
            float[] values = new float[CHUNK];
            for (Spec s : specs) {
                long n = s.elementCount();
                for (long done = 0; done < n; ) {
                    int k = (int) Math.min(CHUNK, n - done);
                    float[] chunk = k == CHUNK ? values : new float[k];
                    filler.fill(s, done, chunk);
                    buf.clear();
                    if (s.dtype() == SafeTensorDType.F32) {
                        for (int i = 0; i < k; i++) buf.putFloat(chunk[i]);
                    } else {
                        for (int i = 0; i < k; i++) buf.putShort(HalfFloats.floatToHalf(chunk[i]));
                    }
                    writeAll(ch, buf.flip());
                    done += k;
                }
            }
        } catch (IOException e) {
            throw new ModelException(file + ": cannot write (" + e.getMessage() + ")", e);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new ModelException(file + ": cannot write (" + e.getMessage() + ")", e);
        }
    }

    private static void writeAll(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
