package io.latentfarm.model.pipeline;

import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import io.latentfarm.common.spec.RenderSpec;
import io.latentfarm.model.testing.Reference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The README's "the pipeline in your own program" lines, run as written on the tiny fixture model
 * (a smaller size and fewer steps): two PNGs, and image 1 is what rendering it alone gives.
 */
class EmbeddingExampleTest {

    @Test
    void theReadmesTenLinesRender(@TempDir Path dir) throws Exception {
        Path modelDir = Reference.fixtures().resolve("tiny-sd-v1");
        // --- as in the README (there: Path.of("sd-v1-4"), 512x512 by default, 30 steps) ---
        try (StableDiffusionPipeline pipe = StableDiffusionPipeline.load(modelDir, PipelineOptions.auto(null))) {
            RenderSpec spec = RenderSpec.builder().prompt("a red fox in the snow").count(2).seed(42L)
                    .steps(3).size(64, 64).build();
            List<RenderedImage> images = pipe.render(spec.images(), ProgressListener.NONE);
            for (RenderedImage image : images) {
                RgbImage rgb = new RgbImage(image.width(), image.height(), image.rgb());
                Files.write(dir.resolve("fox-" + image.index() + ".png"), Png.encode(rgb));
            }
            // --- end of the README's lines ---
            assertEquals(2, images.size());
            assertEquals(64, Png.decode(Files.readAllBytes(dir.resolve("fox-1.png"))).width());
            RenderedImage alone = pipe.render(List.of(spec.image(1)), ProgressListener.NONE).get(0);
            assertArrayEquals(images.get(1).rgb(), alone.rgb(), "image 1 of the spec, rendered alone");
        }
    }
}
