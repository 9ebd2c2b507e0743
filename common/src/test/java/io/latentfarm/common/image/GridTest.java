package io.latentfarm.common.image;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GridTest {
    /** A w x h image filled with one colour derived from n. */
    static RgbImage solid(int w, int h, int n) {
        byte[] px = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++) {
            px[i * 3] = (byte) n;
            px[i * 3 + 1] = (byte) (n * 7);
            px[i * 3 + 2] = (byte) (255 - n);
        }
        return new RgbImage(w, h, px);
    }

    static int colour(int n) {
        return (n & 0xff) << 16 | ((n * 7) & 0xff) << 8 | ((255 - n) & 0xff);
    }

    @Test
    void imagesGoRowByRowLikeTheNotebooksImageGrid() {
        int w = 5;
        int h = 3;
        List<RgbImage> images = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            images.add(solid(w, h, i + 1));
        }
        RgbImage grid = Grid.compose(images, 4, 3);
        assertEquals(3 * w, grid.width());
        assertEquals(4 * h, grid.height());
        for (int i = 0; i < 12; i++) {
            int left = i % 3 * w;
            int top = i / 3 * h;
            assertEquals(colour(i + 1), grid.rgb(left, top), "top-left of image " + i);
            assertEquals(colour(i + 1), grid.rgb(left + w - 1, top + h - 1), "bottom-right of image " + i);
        }
    }

    @Test
    void missingCellsStayBlack() {
        RgbImage grid = Grid.compose(List.of(solid(2, 2, 1), solid(2, 2, 2), solid(2, 2, 3)), 2, 2);
        assertEquals(colour(3), grid.rgb(0, 2));
        assertEquals(0, grid.rgb(2, 2));
        assertEquals(0, grid.rgb(3, 3));
    }

    @Test
    void matchesJava2dDrawing() {
        List<RgbImage> images = List.of(solid(4, 4, 10), solid(4, 4, 20), solid(4, 4, 30), solid(4, 4, 40));
        var expected = new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_INT_RGB);
        var g = expected.createGraphics();
        for (int i = 0; i < 4; i++) {
            g.drawImage(images.get(i).toBufferedImage(), i % 2 * 4, i / 2 * 4, null);
        }
        g.dispose();
        assertEquals(RgbImage.of(expected), Grid.compose(images, 2, 2));
    }

    @Test
    void badInputIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Grid.compose(List.of(), 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Grid.compose(List.of(solid(2, 2, 1), solid(2, 2, 1)), 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Grid.compose(List.of(solid(2, 2, 1), solid(2, 3, 1)), 1, 2));
        assertThrows(IllegalArgumentException.class, () -> Grid.compose(List.of(solid(2, 2, 1)), 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new RgbImage(2, 2, new byte[11]));
    }
}
