package io.latentfarm.model.files;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;

/**
 * A file of named tensors: a safetensors file or a PyTorch pickle checkpoint. Tensors are read
 * one at a time as little-endian bytes, mapped from the file where the layout allows it.
 */
public interface TensorFile extends AutoCloseable {
    Path file();

    Set<String> names();

    default boolean contains(String name) {
        return names().contains(name);
    }

    /** dtype and shape of one tensor; throws naming the file when it is absent. */
    SafeTensors.Entry entry(String name);

    /** Little-endian contiguous bytes of one tensor, for reading in Java only. */
    ByteBuffer bytes(String name);

    /** Little-endian contiguous bytes of one tensor that native code may also write into. */
    ByteBuffer nativeBytes(String name);

    @Override
    void close();

    /** Opens a weights file by its name: {@code .safetensors}, or a pickle ({@code .bin}, {@code .ckpt}, {@code .pt}, {@code .pth}). */
    static TensorFile open(Path file) {
        String n = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        return n.endsWith(".safetensors") ? SafeTensors.open(file) : TorchCheckpoint.open(file);
    }
}
