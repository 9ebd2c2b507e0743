package io.latentfarm.model.files;

import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/** PyTorch pickles read without running them: the fixture's .bin files, and a hostile .ckpt. */
class TorchCheckpointTest {

    @Test
    void binWeightsEqualTheSafetensorsOfTheSameModel() {
        for (String[] c : new String[][]{{"unet", "diffusion_pytorch_model"}, {"vae", "diffusion_pytorch_model"},
                {"text_encoder", "pytorch_model"}}) {
            Path bin = Reference.singleFile().resolve("bin/" + c[0] + "/" + c[1] + ".bin");
            Path st = Reference.tinyModel().resolve(c[0]).resolve(c[0].equals("text_encoder")
                    ? "model.safetensors" : "diffusion_pytorch_model.safetensors");
            try (TorchCheckpoint pickle = TorchCheckpoint.open(bin); SafeTensors safe = SafeTensors.open(st)) {
                for (String name : safe.names()) {
                    if (name.endsWith("position_ids")) continue; // a buffer transformers no longer saves
                    assertTrue(pickle.contains(name), bin + " lacks " + name);
                    assertEquals(safe.entry(name).dtype(), pickle.entry(name).dtype(), name);
                    assertArrayEquals(safe.entry(name).shape(), pickle.entry(name).shape(), name);
                    assertEquals(safe.bytes(name), pickle.bytes(name), name);
                    assertEquals(safe.bytes(name), pickle.nativeBytes(name), name + " (native)");
                }
            }
        }
    }

    @Test
    void aLightningCheckpointKeepsItsStateDictAndIgnoresTheRest() {
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(Reference.singleFile().resolve("tiny-sd-v1.ckpt"))) {
            assertTrue(ckpt.contains("model.diffusion_model.input_blocks.0.0.weight"));
            assertTrue(ckpt.names().stream().allMatch(n -> !n.equals("global_step") && !n.equals("callbacks")));
        }
    }

    /** os.system("touch MARKER") as a pickle: protocol 2, GLOBAL, BINUNICODE, TUPLE1, REDUCE, STOP. */
    @Test
    void aPickleCallingOsSystemIsRefusedAndItsCommandNeverRuns(@TempDir Path dir) throws IOException {
        Path marker = dir.resolve("pwned");
        ByteArrayOutputStream pkl = new ByteArrayOutputStream();
        pkl.write(new byte[]{(byte) 0x80, 2});
        pkl.write("cos\nsystem\n".getBytes(StandardCharsets.US_ASCII));
        byte[] cmd = ("touch " + marker).getBytes(StandardCharsets.UTF_8);
        pkl.write('X');
        pkl.write(ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(cmd.length).array());
        pkl.write(cmd);
        pkl.write(new byte[]{(byte) 0x85, 'R', '.'});
        Path ckpt = dir.resolve("evil.ckpt");
        writeStoredZip(ckpt, "evil/data.pkl", pkl.toByteArray());

        String msg = assertThrows(ModelException.class, () -> TorchCheckpoint.open(ckpt)).getMessage();
        assertTrue(msg.contains(ckpt.toString()) && msg.contains("os.system"), msg);
        msg = assertThrows(ModelException.class, () -> ModelFiles.resolve(ckpt.toString(), null, null, null)).getMessage();
        assertTrue(msg.contains("os.system"), msg);
        assertFalse(Files.exists(marker), "the pickle's command ran");
    }

    @Test
    void damagedArchivesGiveOneLineErrors(@TempDir Path dir) throws IOException {
        Path notZip = Files.writeString(dir.resolve("x.ckpt"), "hello, not a zip");
        assertTrue(assertThrows(ModelException.class, () -> TorchCheckpoint.open(notZip)).getMessage()
                .contains("not a zip archive"));
        Path noPickle = dir.resolve("y.ckpt");
        writeStoredZip(noPickle, "y/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        assertTrue(assertThrows(ModelException.class, () -> TorchCheckpoint.open(noPickle)).getMessage()
                .contains("data.pkl"));
        Path truncated = dir.resolve("z.ckpt");
        writeStoredZip(truncated, "z/data.pkl", new byte[]{(byte) 0x80, 2, '}'});
        assertTrue(assertThrows(ModelException.class, () -> TorchCheckpoint.open(truncated)).getMessage()
                .contains("STOP"));
    }

    /**
     * A hand-made torch.save archive with over 65535 entries (so Zip64 end records) holding a
     * contiguous tensor and a transposed one (strides (1, 2)), read back by storage, offset and stride.
     */
    @Test
    void zip64ArchiveAndStridedTensors(@TempDir Path dir) throws IOException {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.write(new byte[]{(byte) 0x80, 2, '}'});
        tensor(p, "w", "0", 4, new int[]{2}, new int[]{1}, 1);
        tensor(p, "t", "1", 6, new int[]{2, 3}, new int[]{1, 2}, 0);
        p.write('.');
        Path file = dir.resolve("big.ckpt");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file))) {
            putStored(zip, "big/data.pkl", p.toByteArray());
            putStored(zip, "big/data/0", floats(0, 1, 2, 3));
            putStored(zip, "big/data/1", floats(0, 1, 2, 3, 4, 5));
            for (int i = 0; i < 65_600; i++) {
                putStored(zip, "big/extra/" + i, new byte[0]);
            }
        }
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(file)) {
            assertEquals(ByteBuffer.wrap(floats(1, 2)), ckpt.bytes("w"), "offset 1, two elements");
            // t[i][j] = storage[i + 2j]: rows (0, 2, 4) and (1, 3, 5)
            assertEquals(ByteBuffer.wrap(floats(0, 2, 4, 1, 3, 5)), ckpt.nativeBytes("t"));
            assertArrayEquals(new long[]{2, 3}, ckpt.entry("t").shape());
        }
    }

    private static void tensor(ByteArrayOutputStream p, String name, String key, int numel, int[] size, int[] stride,
                               int offset) throws IOException {
        unicode(p, name);
        p.write("ctorch._utils\n_rebuild_tensor_v2\n(".getBytes(StandardCharsets.US_ASCII));
        p.write('(');
        unicode(p, "storage");
        p.write("ctorch\nFloatStorage\n".getBytes(StandardCharsets.US_ASCII));
        unicode(p, key);
        unicode(p, "cpu");
        p.write(new byte[]{'K', (byte) numel, 't', 'Q', 'K', (byte) offset});
        p.write('(');
        for (int s : size) p.write(new byte[]{'K', (byte) s});
        p.write('t');
        p.write('(');
        for (int s : stride) p.write(new byte[]{'K', (byte) s});
        p.write(new byte[]{'t', (byte) 0x89});
        p.write("ccollections\nOrderedDict\n)R".getBytes(StandardCharsets.US_ASCII));
        p.write(new byte[]{'t', 'R', 's'});
    }

    private static void unicode(ByteArrayOutputStream p, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        p.write(new byte[]{(byte) 0x8c, (byte) b.length});
        p.write(b);
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    private static void putStored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }

    static void writeStoredZip(Path file, String name, byte[] data) throws IOException {
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
            putStored(zip, name, data);
        }
    }
}
