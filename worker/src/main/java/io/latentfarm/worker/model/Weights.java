package io.latentfarm.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * A view of one component's weights under a path prefix, like candle's VarBuilder: model code asks
 * for {@code vb.pp("down_blocks").pp(1).get("attentions.0.proj_in.weight", 320, 320, 1, 1)} and the
 * name it asks for is the diffusers parameter name. Tensors are created on the manager's device in
 * {@link #dtype()}; F16/BF16 storage is widened when the compute type is float32.
 */
public final class Weights {

    /** Where tensors come from: weights files, a single-file checkpoint's renamed view, or a generator. */
    public interface Source {
        boolean contains(String fullName);

        NDArray load(String fullName, long[] expectedShape, NDManager manager);
    }

    private final Source source;
    private final String prefix;
    private final NDManager manager;
    private final DataType dtype;

    public Weights(List<? extends TensorFile> files, NDManager manager, DataType dtype) {
        this(new FileSource(files), "", manager, dtype);
    }

    public Weights(Source source, NDManager manager, DataType dtype) {
        this(source, "", manager, dtype);
    }

    private Weights(Source source, String prefix, NDManager manager, DataType dtype) {
        this.source = source;
        this.prefix = prefix;
        this.manager = manager;
        this.dtype = dtype;
    }

    /** The view one level down: {@code pp("mid_block")}, then {@code pp(0)}. */
    public Weights pp(String name) {
        return new Weights(source, prefix + name + ".", manager, dtype);
    }

    public Weights pp(int index) {
        return pp(Integer.toString(index));
    }

    public NDManager manager() {
        return manager;
    }

    public DataType dtype() {
        return dtype;
    }

    public String prefix() {
        return prefix;
    }

    public boolean contains(String name) {
        return source.contains(prefix + name);
    }

    /** The tensor {@code prefix + name}, checked against {@code expectedShape} when one is given. */
    public NDArray get(String name, long... expectedShape) {
        NDArray array = source.load(prefix + name, expectedShape, manager);
        if (array.getDataType() != dtype) {
            NDArray converted = array.toType(dtype, false);
            array.close();
            array = converted;
        }
        return array;
    }

    /** Weights read from weights files (one, or the shards of one checkpoint). */
    public static final class FileSource implements Source {
        private final List<TensorFile> files;

        public FileSource(List<? extends TensorFile> files) {
            this.files = List.copyOf(files);
        }

        @Override
        public boolean contains(String fullName) {
            return files.stream().anyMatch(f -> f.contains(fullName));
        }

        @Override
        public NDArray load(String full, long[] expectedShape, NDManager manager) {
            TensorFile file = files.stream().filter(f -> f.contains(full)).findFirst()
                    .orElseThrow(() -> new ModelException(describeFiles() + ": tensor '" + full + "' is missing"));
            return Weights.load(file, full, expectedShape, manager);
        }

        private String describeFiles() {
            return files.size() == 1 ? files.get(0).file().toString()
                    : files.stream().map(f -> f.file().toString()).toList().toString();
        }
    }

    /**
     * Tensor {@code name} of {@code file} as stored (F32, F16; BF16 widened), checked against
     * {@code expectedShape} when one is given.
     */
    public static NDArray load(TensorFile file, String name, long[] expectedShape, NDManager manager) {
        SafeTensors.Entry e = file.entry(name);
        if (expectedShape.length > 0 && !Arrays.equals(e.shape(), expectedShape)) {
            throw new ModelException(file.file() + ": tensor '" + name + "' has shape " + e.shapeString()
                    + ", expected " + Arrays.toString(expectedShape));
        }
        return loadAs(file, name, e.shape(), manager);
    }

    /**
     * Tensor {@code name} of {@code file} created with {@code shape} (same element count, e.g. a
     * 1x1 convolution's weight read as a linear one). Built straight on the file's bytes rather
     * than reshaped afterwards: a view must not outlive the array that holds the mapped buffer.
     */
    public static NDArray loadAs(TensorFile file, String name, long[] shape, NDManager manager) {
        SafeTensors.Entry e = file.entry(name);
        if (e.dtype() == null || !e.dtype().isFloat()) {
            throw new ModelException(file.file() + ": tensor '" + name + "' is "
                    + (e.dtype() == null ? "of an unsupported dtype" : e.dtype().toString())
                    + ", not a floating-point weight");
        }
        Shape s = new Shape(shape);
        if (s.size() != e.elementCount()) {
            throw new ModelException(file.file() + ": tensor '" + name + "' has shape " + e.shapeString()
                    + ", expected " + Arrays.toString(shape));
        }
        NDArray array = switch (e.dtype()) {
            case F16 -> manager.create(file.nativeBytes(name), s, DataType.FLOAT16);
            // BF16 NDArrays abort the JVM inside DJL: widen in Java.
            case BF16 -> manager.create(bf16ToF32(file.bytes(name), e.elementCount()), s, DataType.FLOAT32);
            default -> manager.create(file.nativeBytes(name), s, DataType.FLOAT32);
        };
        array.setName(name);
        return array;
    }

    private static ByteBuffer bf16ToF32(ByteBuffer src, long count) {
        ByteBuffer out = ByteBuffer.allocateDirect(Math.toIntExact(count * 4)).order(ByteOrder.nativeOrder());
        for (int i = 0; i < count; i++) {
            out.putInt((src.getShort(2 * i) & 0xffff) << 16);
        }
        return out.flip();
    }
}
