package io.latentfarm.model.files;

import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class SafeTensorsTest {

    @Test
    void readsF16WeightsAndF32ReferenceTensors() {
        try (SafeTensors unet = SafeTensors.open(Reference.tinyModel().resolve("unet/diffusion_pytorch_model.safetensors"))) {
            SafeTensors.Entry e = unet.entry("conv_in.weight");
            assertEquals(SafeTensorDType.F16, e.dtype());
            assertArrayEquals(new long[]{32, 4, 3, 3}, e.shape());
            float[] w = unet.floats("conv_in.weight");
            assertEquals(32 * 4 * 3 * 3, w.length);
            // F16 widened exactly: every value is representable in half precision.
            for (float v : w) assertEquals(v, HalfFloats.halfToFloat(HalfFloats.floatToHalf(v)));
        }
        SafeTensors tok = Reference.tensors("tokenizer");
        long[] ids = tok.longs("tokenizer/sanity_cat/input_ids");
        assertEquals(77, ids.length);
        assertEquals(49406, ids[0]);
    }

    @Test
    void halfFloatRoundTripCoversSubnormalsAndInfinity() {
        for (int h = 0; h < 0x10000; h++) {
            short s = (short) h;
            float f = HalfFloats.halfToFloat(s);
            if (Float.isNaN(f)) continue;
            assertEquals(s, HalfFloats.floatToHalf(f), "half bits " + Integer.toHexString(h));
        }
        assertEquals(Float.POSITIVE_INFINITY, HalfFloats.halfToFloat((short) 0x7c00));
        assertEquals(0x1p-24f, HalfFloats.halfToFloat((short) 1));
    }

    @Test
    void bf16IsWidenedInJava(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("bf16.safetensors");
        // 1.0 and -2.5 in bfloat16
        write(f, "{\"x\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[]{(byte) 0x80, 0x3f, 0x20, (byte) 0xc0});
        try (SafeTensors st = SafeTensors.open(f)) {
            assertArrayEquals(new float[]{1.0f, -2.5f}, st.floats("x"));
        }
    }

    @Test
    void clearErrorsForBadFiles(@TempDir Path dir) throws IOException {
        ModelException missing = assertThrows(ModelException.class, () -> SafeTensors.open(dir.resolve("nope.safetensors")));
        assertTrue(missing.getMessage().contains("nope.safetensors") && missing.getMessage().contains("not found"), missing.getMessage());

        Path shortFile = dir.resolve("short.safetensors");
        Files.write(shortFile, new byte[]{1, 2, 3});
        assertTrue(assertThrows(ModelException.class, () -> SafeTensors.open(shortFile)).getMessage().contains("corrupt"));

        Path hugeHeader = dir.resolve("huge.safetensors");
        Files.write(hugeHeader, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE).array());
        assertTrue(assertThrows(ModelException.class, () -> SafeTensors.open(hugeHeader)).getMessage().contains("header length"));

        Path badJson = dir.resolve("bad.safetensors");
        write(badJson, "{not json", new byte[0]);
        assertTrue(assertThrows(ModelException.class, () -> SafeTensors.open(badJson)).getMessage().contains("not valid JSON"));

        Path outside = dir.resolve("outside.safetensors");
        write(outside, "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]);
        String m = assertThrows(ModelException.class, () -> SafeTensors.open(outside)).getMessage();
        assertTrue(m.contains("'x'") && m.contains("outside"), m);

        Path sizeMismatch = dir.resolve("size.safetensors");
        write(sizeMismatch, "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        assertTrue(assertThrows(ModelException.class, () -> SafeTensors.open(sizeMismatch)).getMessage().contains("needs 12"));

        Path unsupported = dir.resolve("f64.safetensors");
        write(unsupported, "{\"x\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]);
        try (SafeTensors st = SafeTensors.open(unsupported)) {
            String u = assertThrows(ModelException.class, () -> st.floats("x")).getMessage();
            assertTrue(u.contains("unsupported dtype"), u);
            assertTrue(assertThrows(ModelException.class, () -> st.floats("y")).getMessage().contains("'y' is missing"));
        }
    }

    /** Offsets past 2 GiB: a sparse file with a tensor that starts 2.5 GB into the data section. */
    @Test
    void readsTensorsBeyondTwoGiB(@TempDir Path dir) throws IOException {
        long big = 625_000_000L; // 2.5 GB of F32
        String header = "{\"big\":{\"dtype\":\"F32\",\"shape\":[" + big + "],\"data_offsets\":[0," + big * 4 + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + big * 4 + "," + (big * 4 + 16) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path f = dir.resolve("big.safetensors");
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            raf.write(h);
            raf.seek(8 + h.length + big * 4); // the gap stays a hole: no 2.5 GB written
            ByteBuffer tail = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            tail.putFloat(1.5f).putFloat(-2f).putFloat(3.25f).putFloat(4f);
            raf.write(tail.array());
        }
        try (SafeTensors st = SafeTensors.open(f)) {
            assertArrayEquals(new float[]{1.5f, -2f, 3.25f, 4f}, st.floats("tail"));
            String m = assertThrows(ModelException.class, () -> st.bytes("big")).getMessage();
            assertTrue(m.contains("over 2 GiB by itself"), m);
        }
    }

    static void write(Path f, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(f, b.array());
    }
}
