package io.latentfarm.worker.model;

import io.latentfarm.worker.testing.Reference;
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

    static void writeStoredZip(Path file, String name, byte[] data) throws IOException {
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
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
    }
}
