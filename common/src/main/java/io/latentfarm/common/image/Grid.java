package io.latentfarm.common.image;

import java.util.List;

/**
 * A rows x cols contact sheet, as the diffusers notebook's {@code image_grid} makes it: a
 * {@code (cols*w) x (rows*h)} image with image i at {@code (i % cols * w, i / cols * h)}.
 */
public final class Grid {
    private Grid() {
    }

    /**
     * Composes equally sized images row by row. Fewer images than cells leave the last cells black.
     *
     * @throws IllegalArgumentException if there are no images, more images than cells, or sizes differ
     */
    public static RgbImage compose(List<RgbImage> images, int rows, int cols) {
        if (rows < 1 || cols < 1) {
            throw new IllegalArgumentException("grid " + rows + " x " + cols + " must be at least 1 x 1");
        }
        if (images.isEmpty() || images.size() > (long) rows * cols) {
            throw new IllegalArgumentException(images.size() + " images do not fit a " + rows + " x " + cols + " grid");
        }
        int w = images.get(0).width();
        int h = images.get(0).height();
        for (int i = 1; i < images.size(); i++) {
            RgbImage image = images.get(i);
            if (image.width() != w || image.height() != h) {
                throw new IllegalArgumentException("image " + i + " is " + image.width() + "x" + image.height()
                        + ", image 0 is " + w + "x" + h);
            }
        }
        RgbImage grid = RgbImage.blank(Math.multiplyExact(cols, w), Math.multiplyExact(rows, h));
        int gridRowBytes = grid.width() * 3;
        int rowBytes = w * 3;
        for (int i = 0; i < images.size(); i++) {
            int left = (i % cols) * w;
            int top = (i / cols) * h;
            byte[] source = images.get(i).pixels();
            for (int y = 0; y < h; y++) {
                System.arraycopy(source, y * rowBytes, grid.pixels(), (top + y) * gridRowBytes + left * 3, rowBytes);
            }
        }
        return grid;
    }
}
