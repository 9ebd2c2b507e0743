package io.latentfarm.common.image;

import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.common.message.SeedMode;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import javax.imageio.metadata.IIOMetadataNode;
import java.io.ByteArrayInputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PngTest {
    static RgbImage noise(int w, int h, long seed) {
        byte[] px = new byte[w * h * 3];
        new Random(seed).nextBytes(px);
        return new RgbImage(w, h, px);
    }

    /** Smooth gradients, so every filter type wins somewhere. */
    static RgbImage gradient(int w, int h) {
        byte[] px = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                px[i] = (byte) (x * 255 / w);
                px[i + 1] = (byte) (y * 255 / h);
                px[i + 2] = (byte) ((x * y) % 256);
            }
        }
        return new RgbImage(w, h, px);
    }

    static final GenerationParameters PARAMS = new GenerationParameters("Craftsman, Moroccan Ghibli studio style",
            "blurry", 15, "pndm", 7.5, 1024, 512, 512, "tiny", 1, 0);

    @Test
    void pixelsSurviveARoundTripThroughImageIO() {
        for (RgbImage image : new RgbImage[]{noise(31, 17, 1), gradient(64, 48), noise(1, 1, 2), RgbImage.blank(8, 3)}) {
            assertEquals(image, Png.decode(Png.encode(image)), image.toString());
            assertEquals(image, Png.decode(Png.encode(image, PARAMS)), image.toString());
        }
    }

    @Test
    void bigImagesSpanSeveralIdatChunks() {
        RgbImage image = noise(700, 600, 3); // ~1.26 MB compressed: two IDAT chunks
        byte[] png = Png.encode(image);
        assertTrue(png.length > 1 << 20);
        assertEquals(image, Png.decode(png));
    }

    @Test
    void sameInputSameBytes() {
        byte[] a = Png.encode(gradient(64, 64), PARAMS);
        byte[] b = Png.encode(gradient(64, 64), PARAMS);
        assertArrayEquals(a, b);
    }

    @Test
    void parametersInTheA1111Form() {
        assertEquals("Craftsman, Moroccan Ghibli studio style\nNegative prompt: blurry\n"
                + "Steps: 15, Sampler: PNDM, CFG scale: 7.5, Seed: 1024, Size: 512x512, Model: tiny", PARAMS.toText());
        GenerationParameters noNegative = new GenerationParameters("a cat", "", 50, "euler_a", 7, 1, 768, 512,
                null, 1, 0);
        assertEquals("a cat\nSteps: 50, Sampler: Euler a, CFG scale: 7.0, Seed: 1, Size: 768x512",
                noNegative.toText());
        GenerationParameters quoted = new GenerationParameters("a", "", 5, "dpmpp_2m", 1.25, 1, 64, 64,
                "C:/models/x", 1, 0);
        assertEquals("a\nSteps: 5, Sampler: DPM++ 2M, CFG scale: 1.25, Seed: 1, Size: 64x64, Model: \"C:/models/x\"",
                quoted.toText());
        assertEquals("a\nSteps: 5, Sampler: DPM++ 2M, CFG scale: 1.25, Seed: 1, Size: 64x64, Model: \"C:/models/x\","
                + " Device: \"cuda:0\", Dtype: bf16", quoted.withCompute("cuda:0", "bf16").toText());
    }

    @Test
    void jobParametersSayWhichSliceOfTheBatchDrawAnImageIs() {
        RenderRequest r = RenderRequest.builder().batchId("b").prompt("p").count(4).steps(15).seed(1024L)
                .model("tiny").build();
        assertEquals("p\nSteps: 15, Sampler: PNDM, CFG scale: 7.5, Seed: 1024, Size: 512x512, Model: tiny,"
                + " Batch size: 4, Batch pos: 2", GenerationParameters.of(RenderJob.forImage(r, 2, "k").image(), "pndm", "tiny").toText());
        RenderRequest perImage = r.toBuilder().seedMode(SeedMode.PER_IMAGE).build();
        assertEquals("p\nSteps: 15, Sampler: PNDM, CFG scale: 7.5, Seed: 1026, Size: 512x512, Model: tiny",
                GenerationParameters.of(perImage.image(2), "pndm", "tiny").toText());
    }

    @Test
    void parametersChunkReadsBack() {
        byte[] png = Png.encode(noise(8, 8, 4), PARAMS);
        assertEquals(PARAMS.toText(), Png.readParameters(png).orElseThrow());
        assertTrue(Png.readParameters(Png.encode(noise(8, 8, 4))).isEmpty());
    }

    @Test
    void imageIoSeesAStandardTextChunk() throws Exception {
        byte[] png = Png.encode(noise(8, 8, 5), PARAMS);
        var reader = ImageIO.getImageReadersByFormatName("png").next();
        reader.setInput(ImageIO.createImageInputStream(new ByteArrayInputStream(png)));
        var root = (IIOMetadataNode) reader.getImageMetadata(0).getAsTree("javax_imageio_png_1.0");
        var entry = (IIOMetadataNode) root.getElementsByTagName("tEXtEntry").item(0);
        assertEquals("parameters", entry.getAttribute("keyword"));
        assertEquals(PARAMS.toText(), entry.getAttribute("value"));
    }

    @Test
    void nonLatin1TextGoesInAnITXtChunk() throws Exception {
        String prompt = "富士山の夜明け, 🌅";
        byte[] png = Png.encode(noise(4, 4, 6), Map.of("parameters", prompt));
        assertEquals(prompt, Png.readParameters(png).orElseThrow());
        assertTrue(new String(png, java.nio.charset.StandardCharsets.ISO_8859_1).contains("iTXt"));
        var reader = ImageIO.getImageReadersByFormatName("png").next();
        reader.setInput(ImageIO.createImageInputStream(new ByteArrayInputStream(png)));
        var root = (IIOMetadataNode) reader.getImageMetadata(0).getAsTree("javax_imageio_png_1.0");
        var entry = (IIOMetadataNode) root.getElementsByTagName("iTXtEntry").item(0);
        assertEquals(prompt, entry.getAttribute("text"));
    }

    @Test
    void severalChunksKeepTheirOrder() {
        Map<String, String> text = new LinkedHashMap<>();
        text.put("parameters", "a");
        text.put("Software", "latentfarm");
        assertEquals(text, Png.readText(Png.encode(noise(2, 2, 7), text)));
    }

    @Test
    void readsCompressedTextWrittenByImageIO() throws Exception {
        var image = noise(4, 4, 8).toBufferedImage();
        var writer = ImageIO.getImageWritersByFormatName("png").next();
        var type = javax.imageio.ImageTypeSpecifier.createFromRenderedImage(image);
        var metadata = writer.getDefaultImageMetadata(type, null);
        var root = new IIOMetadataNode("javax_imageio_png_1.0");
        var ztxt = new IIOMetadataNode("zTXt");
        var entry = new IIOMetadataNode("zTXtEntry");
        entry.setAttribute("keyword", "parameters");
        entry.setAttribute("text", "compressed " + "words ".repeat(50));
        entry.setAttribute("compressionMethod", "deflate");
        ztxt.appendChild(entry);
        root.appendChild(ztxt);
        metadata.mergeTree("javax_imageio_png_1.0", root);
        var out = new java.io.ByteArrayOutputStream();
        try (var ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(new javax.imageio.IIOImage(image, null, metadata));
        }
        assertEquals("compressed " + "words ".repeat(50), Png.readParameters(out.toByteArray()).orElseThrow());
    }

    @Test
    void corruptFilesAreRefused() {
        byte[] png = Png.encode(noise(4, 4, 9), PARAMS);
        assertThrows(IllegalArgumentException.class, () -> Png.readText(new byte[]{1, 2, 3}));
        byte[] flipped = png.clone();
        flipped[40] ^= 1; // inside the tEXt chunk
        assertThrows(IllegalArgumentException.class, () -> Png.readText(flipped));
        byte[] truncated = java.util.Arrays.copyOf(png, png.length - 12);
        assertThrows(IllegalArgumentException.class, () -> Png.readText(truncated));
        assertThrows(IllegalArgumentException.class, () -> Png.encode(noise(1, 1, 1), Map.of("", "x")));
    }
}
