package io.latentfarm.common.image;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.Inflater;

/**
 * PNG files for rendered images: 8-bit RGB, non-interlaced, with text chunks such as the
 * {@code parameters} chunk other Stable Diffusion tools read ({@link GenerationParameters}).
 *
 * <p>The writer is our own (chunks over {@code java.util.zip}) so the bytes depend only on the
 * pixels and the text: a job that runs twice overwrites its object with identical bytes. Text that
 * Latin-1 can hold goes in a {@code tEXt} chunk, other text (most non-European prompts) in an
 * uncompressed UTF-8 {@code iTXt} chunk, as Pillow does.
 */
public final class Png {
    public static final String PARAMETERS = "parameters";

    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    private static final int IDAT_CHUNK = 1 << 20;

    private Png() {
    }

    /** PNG bytes of the image with an A1111 {@code parameters} text chunk. */
    public static byte[] encode(RgbImage image, GenerationParameters parameters) {
        return encode(image, Map.of(PARAMETERS, parameters.toText()));
    }

    /** PNG bytes of the image with no text. */
    public static byte[] encode(RgbImage image) {
        return encode(image, Map.of());
    }

    /** PNG bytes of the image with these text chunks, in the map's iteration order. */
    public static byte[] encode(RgbImage image, Map<String, String> text) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(image.pixels().length / 2 + 1024);
            out.write(SIGNATURE);
            writeChunk(out, "IHDR", ByteBuffer.allocate(13)
                    .putInt(image.width()).putInt(image.height())
                    .put((byte) 8)  // bit depth
                    .put((byte) 2)  // colour type: truecolour (RGB)
                    .put((byte) 0)  // deflate
                    .put((byte) 0)  // adaptive filtering
                    .put((byte) 0)  // no interlace
                    .array());
            for (Map.Entry<String, String> entry : text.entrySet()) {
                writeText(out, entry.getKey(), entry.getValue());
            }
            byte[] compressed = compress(filter(image));
            for (int at = 0; at < compressed.length; at += IDAT_CHUNK) {
                int length = Math.min(IDAT_CHUNK, compressed.length - at);
                writeChunk(out, "IDAT", Arrays.copyOfRange(compressed, at, at + length));
            }
            writeChunk(out, "IEND", new byte[0]);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in-memory streams do not fail
        }
    }

    /** The pixels of a PNG (any kind ImageIO reads), as RGB. */
    public static RgbImage decode(byte[] png) {
        try {
            var image = ImageIO.read(new ByteArrayInputStream(png));
            if (image == null) {
                throw new IllegalArgumentException("not an image ImageIO can read");
            }
            return RgbImage.of(image);
        } catch (IOException e) {
            throw new IllegalArgumentException("unreadable PNG: " + e.getMessage(), e);
        }
    }

    /** The {@code parameters} text, if the PNG has one. */
    public static Optional<String> readParameters(byte[] png) {
        return Optional.ofNullable(readText(png).get(PARAMETERS));
    }

    /** All tEXt, zTXt and iTXt chunks, keyword to text, in file order. */
    public static Map<String, String> readText(byte[] png) {
        if (png.length < SIGNATURE.length || !Arrays.equals(png, 0, SIGNATURE.length, SIGNATURE, 0, SIGNATURE.length)) {
            throw new IllegalArgumentException("not a PNG (bad signature)");
        }
        ByteBuffer in = ByteBuffer.wrap(png).position(SIGNATURE.length);
        Map<String, String> text = new LinkedHashMap<>();
        while (in.remaining() >= 12) {
            int length = in.getInt();
            byte[] type = new byte[4];
            in.get(type);
            if (length < 0 || length > in.remaining() - 4) {
                throw new IllegalArgumentException("truncated PNG chunk " + new String(type, StandardCharsets.ISO_8859_1));
            }
            byte[] data = new byte[length];
            in.get(data);
            int crc = in.getInt();
            if (crc != crc(type, data)) {
                throw new IllegalArgumentException("bad CRC in PNG chunk " + new String(type, StandardCharsets.ISO_8859_1));
            }
            switch (new String(type, StandardCharsets.ISO_8859_1)) {
                case "tEXt" -> readTEXt(data, text);
                case "zTXt" -> readZTXt(data, text);
                case "iTXt" -> readITXt(data, text);
                case "IEND" -> {
                    return text;
                }
                default -> {
                }
            }
        }
        throw new IllegalArgumentException("truncated PNG (no IEND)");
    }

    // Scanlines with the filter that minimises the sum of absolute differences (libpng's heuristic).
    private static byte[] filter(RgbImage image) {
        int stride = image.width() * 3;
        byte[] pixels = image.pixels();
        byte[] out = new byte[(stride + 1) * image.height()];
        byte[][] candidates = new byte[5][stride];
        for (int y = 0; y < image.height(); y++) {
            int row = y * stride;
            int prev = row - stride;
            boolean first = y == 0; // the row above the first counts as zeros
            int best = 0;
            long bestCost = Long.MAX_VALUE;
            for (int f = 0; f < 5; f++) {
                long cost = 0;
                byte[] c = candidates[f];
                for (int i = 0; i < stride; i++) {
                    int x = pixels[row + i] & 0xff;
                    int a = i >= 3 ? pixels[row + i - 3] & 0xff : 0;
                    int b = first ? 0 : pixels[prev + i] & 0xff;
                    int d = i >= 3 && !first ? pixels[prev + i - 3] & 0xff : 0;
                    int v = switch (f) {
                        case 0 -> x;
                        case 1 -> x - a;
                        case 2 -> x - b;
                        case 3 -> x - ((a + b) >>> 1);
                        default -> x - paeth(a, b, d);
                    };
                    c[i] = (byte) v;
                    cost += Math.abs((byte) v);
                }
                if (cost < bestCost) {
                    bestCost = cost;
                    best = f;
                }
            }
            int at = y * (stride + 1);
            out[at] = (byte) best;
            System.arraycopy(candidates[best], 0, out, at + 1, stride);
        }
        return out;
    }

    private static int paeth(int a, int b, int c) {
        int p = a + b - c;
        int pa = Math.abs(p - a);
        int pb = Math.abs(p - b);
        int pc = Math.abs(p - c);
        if (pa <= pb && pa <= pc) {
            return a;
        }
        return pb <= pc ? b : c;
    }

    private static byte[] compress(byte[] data) throws IOException {
        Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(data.length / 2 + 64);
            try (DeflaterOutputStream z = new DeflaterOutputStream(out, deflater, 1 << 16)) {
                z.write(data);
            }
            return out.toByteArray();
        } finally {
            deflater.end();
        }
    }

    private static void writeText(ByteArrayOutputStream out, String keyword, String value) throws IOException {
        if (keyword.isEmpty() || keyword.length() > 79 || !latin1(keyword) || keyword.startsWith(" ")
                || keyword.endsWith(" ") || keyword.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("PNG text keyword \"" + keyword + "\" must be 1-79 Latin-1 characters");
        }
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        data.write(keyword.getBytes(StandardCharsets.ISO_8859_1));
        data.write(0);
        if (latin1(value) && value.indexOf('\0') < 0) {
            data.write(value.getBytes(StandardCharsets.ISO_8859_1));
            writeChunk(out, "tEXt", data.toByteArray());
        } else {
            data.write(new byte[]{0, 0}); // not compressed, method 0
            data.write(0);                // no language tag
            data.write(0);                // no translated keyword
            data.write(value.getBytes(StandardCharsets.UTF_8));
            writeChunk(out, "iTXt", data.toByteArray());
        }
    }

    private static boolean latin1(String s) {
        return StandardCharsets.ISO_8859_1.newEncoder().canEncode(s);
    }

    private static void writeChunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        DataOutputStream d = new DataOutputStream(out);
        d.writeInt(data.length);
        d.write(typeBytes);
        d.write(data);
        d.writeInt(crc(typeBytes, data));
    }

    private static int crc(byte[] type, byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(type);
        crc.update(data);
        return (int) crc.getValue();
    }

    private static int indexOfZero(byte[] data, int from) {
        for (int i = from; i < data.length; i++) {
            if (data[i] == 0) {
                return i;
            }
        }
        throw new IllegalArgumentException("malformed PNG text chunk");
    }

    private static void readTEXt(byte[] data, Map<String, String> text) {
        int end = indexOfZero(data, 0);
        text.put(new String(data, 0, end, StandardCharsets.ISO_8859_1),
                new String(data, end + 1, data.length - end - 1, StandardCharsets.ISO_8859_1));
    }

    private static void readZTXt(byte[] data, Map<String, String> text) {
        int end = indexOfZero(data, 0);
        byte[] value = inflate(data, end + 2);
        text.put(new String(data, 0, end, StandardCharsets.ISO_8859_1), new String(value, StandardCharsets.ISO_8859_1));
    }

    private static void readITXt(byte[] data, Map<String, String> text) {
        int keywordEnd = indexOfZero(data, 0);
        boolean compressed = data[keywordEnd + 1] != 0;
        int languageEnd = indexOfZero(data, keywordEnd + 3);
        int translatedEnd = indexOfZero(data, languageEnd + 1);
        byte[] value = compressed ? inflate(data, translatedEnd + 1)
                : Arrays.copyOfRange(data, translatedEnd + 1, data.length);
        text.put(new String(data, 0, keywordEnd, StandardCharsets.ISO_8859_1), new String(value, StandardCharsets.UTF_8));
    }

    private static byte[] inflate(byte[] data, int from) {
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(data, from, data.length - from);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            while (!inflater.finished()) {
                int n = inflater.inflate(buffer);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw new IllegalArgumentException("truncated compressed PNG text");
                }
                out.write(buffer, 0, n);
            }
            return out.toByteArray();
        } catch (DataFormatException e) {
            throw new IllegalArgumentException("corrupt compressed PNG text", e);
        } finally {
            inflater.end();
        }
    }
}
