package io.latentfarm.model.files;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The central directory of a zip archive (with Zip64), enough to find where each entry's bytes
 * lie in the file. torch.save stores its entries uncompressed, so tensor data is mapped in place
 * rather than inflated; a deflated entry (an archive re-zipped by hand) is inflated alone.
 */
final class ZipDirectory {
    /** One entry: compression method (0 stored, 8 deflated), sizes, and its local header offset. */
    record Entry(String name, int method, long compressedSize, long size, long localHeaderOffset) {
    }

    private static final int EOCD = 0x06054b50;
    private static final int ZIP64_LOCATOR = 0x07064b50;
    private static final int ZIP64_EOCD = 0x06064b50;
    private static final int CENTRAL = 0x02014b50;
    private static final int LOCAL = 0x04034b50;
    /** A directory over 256 MB is not a checkpoint's: refuse it before allocating. */
    private static final long MAX_DIRECTORY_BYTES = 256L << 20;

    private final Path file;
    private final FileChannel channel;
    private final Map<String, Entry> entries;

    private ZipDirectory(Path file, FileChannel channel, Map<String, Entry> entries) {
        this.file = file;
        this.channel = channel;
        this.entries = entries;
    }

    static ZipDirectory read(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        int tailLen = (int) Math.min(size, 22 + 65535);
        ByteBuffer tail = read(ch, size - tailLen, tailLen);
        int eocd = -1;
        for (int i = tailLen - 22; i >= 0; i--) {
            if (tail.getInt(i) == EOCD) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) {
            throw corrupt(file, "no end-of-central-directory record (not a zip archive)");
        }
        long count = tail.getShort(eocd + 10) & 0xffffL;
        long dirSize = tail.getInt(eocd + 12) & 0xffffffffL;
        long dirOffset = tail.getInt(eocd + 16) & 0xffffffffL;
        if (count == 0xffff || dirSize == 0xffffffffL || dirOffset == 0xffffffffL) {
            int locator = eocd - 20;
            if (locator < 0 || tail.getInt(locator) != ZIP64_LOCATOR) {
                throw corrupt(file, "Zip64 fields without a Zip64 locator");
            }
            ByteBuffer z = read(ch, tail.getLong(locator + 8), 56);
            if (z.getInt(0) != ZIP64_EOCD) {
                throw corrupt(file, "the Zip64 end-of-central-directory record is missing");
            }
            count = z.getLong(32);
            dirSize = z.getLong(40);
            dirOffset = z.getLong(48);
        }
        if (dirSize > MAX_DIRECTORY_BYTES || dirOffset < 0 || dirOffset + dirSize > size) {
            throw corrupt(file, "central directory of " + dirSize + " bytes at " + dirOffset
                    + " does not fit a file of " + size + " bytes");
        }
        ByteBuffer dir = read(ch, dirOffset, (int) dirSize);
        Map<String, Entry> entries = new LinkedHashMap<>();
        int p = 0;
        for (long i = 0; i < count; i++) {
            if (p + 46 > dir.limit() || dir.getInt(p) != CENTRAL) {
                throw corrupt(file, "central directory entry " + i + " is damaged");
            }
            int method = dir.getShort(p + 10) & 0xffff;
            long compressed = dir.getInt(p + 20) & 0xffffffffL;
            long uncompressed = dir.getInt(p + 24) & 0xffffffffL;
            int nameLen = dir.getShort(p + 28) & 0xffff;
            int extraLen = dir.getShort(p + 30) & 0xffff;
            int commentLen = dir.getShort(p + 32) & 0xffff;
            long local = dir.getInt(p + 42) & 0xffffffffL;
            if (p + 46 + nameLen + extraLen > dir.limit()) {
                throw corrupt(file, "central directory entry " + i + " is damaged");
            }
            byte[] nameBytes = new byte[nameLen];
            dir.get(p + 46, nameBytes);
            String name = new String(nameBytes, java.nio.charset.StandardCharsets.UTF_8);
            // Zip64 extra field: the 64-bit values of the fields that read 0xffffffff, in this order
            int e = p + 46 + nameLen;
            int end = e + extraLen;
            while (e + 4 <= end) {
                int id = dir.getShort(e) & 0xffff;
                int len = dir.getShort(e + 2) & 0xffff;
                if (id == 1) {
                    int q = e + 4;
                    if (uncompressed == 0xffffffffL && q + 8 <= e + 4 + len) { uncompressed = dir.getLong(q); q += 8; }
                    if (compressed == 0xffffffffL && q + 8 <= e + 4 + len) { compressed = dir.getLong(q); q += 8; }
                    if (local == 0xffffffffL && q + 8 <= e + 4 + len) { local = dir.getLong(q); }
                }
                e += 4 + len;
            }
            entries.put(name, new Entry(name, method, compressed, uncompressed, local));
            p += 46 + nameLen + extraLen + commentLen;
        }
        return new ZipDirectory(file, ch, entries);
    }

    Map<String, Entry> entries() {
        return entries;
    }

    /** Where the entry's data starts in the file (after its local header). */
    long dataOffset(Entry e) throws IOException {
        ByteBuffer h = read(channel, e.localHeaderOffset(), 30);
        if (h.getInt(0) != LOCAL) {
            throw corrupt(file, "entry '" + e.name() + "' has no local header");
        }
        long start = e.localHeaderOffset() + 30 + (h.getShort(26) & 0xffff) + (h.getShort(28) & 0xffff);
        if (start + e.compressedSize() > channel.size()) {
            throw corrupt(file, "entry '" + e.name() + "' runs past the end of the file");
        }
        return start;
    }

    /** The whole entry in memory (small entries such as {@code data.pkl}). */
    byte[] readAll(Entry e, long limit) throws IOException {
        if (e.size() > limit) {
            throw corrupt(file, "entry '" + e.name() + "' is " + e.size() + " bytes, over the " + limit + "-byte limit");
        }
        ByteBuffer raw = read(channel, dataOffset(e), Math.toIntExact(e.compressedSize()));
        byte[] bytes = new byte[raw.remaining()];
        raw.get(bytes);
        if (e.method() == 0) {
            return bytes;
        }
        if (e.method() != 8) {
            throw corrupt(file, "entry '" + e.name() + "' uses compression method " + e.method());
        }
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(bytes);
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(e.size(), 1 << 20));
            byte[] buf = new byte[1 << 16];
            while (!inflater.finished()) {
                int n = inflater.inflate(buf);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw corrupt(file, "entry '" + e.name() + "' is truncated");
                }
                out.write(buf, 0, n);
                if (out.size() > limit) {
                    throw corrupt(file, "entry '" + e.name() + "' inflates past the " + limit + "-byte limit");
                }
            }
            return out.toByteArray();
        } catch (DataFormatException ex) {
            throw corrupt(file, "entry '" + e.name() + "' is not valid deflate data");
        } finally {
            inflater.end();
        }
    }

    static ByteBuffer read(FileChannel ch, long pos, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) throw new IOException("unexpected end of file");
        }
        return b.flip();
    }

    private static ModelException corrupt(Path file, String why) {
        return new ModelException(file + ": corrupt zip archive: " + why);
    }
}
