package io.latentfarm.model.pipeline;

/** One decoded image: RGB bytes, row-major, HxWx3, and its index in the call's output order. */
public record RenderedImage(int index, int width, int height, byte[] rgb) {
}
