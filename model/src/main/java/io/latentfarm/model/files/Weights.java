package io.latentfarm.model.files;

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
 *
 * <p>Built with {@code DataType.BFLOAT16}, the view is mixed precision: {@link #dtype()} is float32
 * (norms, embeddings, activations) and {@link #bf16()} tells convolutions, linear layers and
 * attention to hold their weights and run their math in bf16.
 */
public final class Weights {

    /** Where tensors come from: weights files, a single-file checkpoint's renamed view, or a generator. */
    public interface Source {
        boolean contains(String fullName);

        NDArray load(String fullName, long[] expectedShape, NDManager manager);

        /**
         * As {@link #load}, for a tensor the caller converts and closes before its next call: it may
         * live in a scratch buffer reused by the next call, and must not keep a file mapping alive
         * (mapped pages count as resident memory until the mapping is collected).
         */
        default NDArray loadTransient(String fullName, long[] expectedShape, NDManager manager) {
            return load(fullName, expectedShape, manager);
        }
    }

    private final Source source;
    private final String prefix;
    private final NDManager manager;
    private final DataType dtype;
    private final boolean bf16;

    /** @param dtype FLOAT32, FLOAT16, or BFLOAT16 for the mixed bf16/float32 split */
    public Weights(List<? extends TensorFile> files, NDManager manager, DataType dtype) {
        this(new FileSource(files), manager, dtype);
    }

    /** @param dtype FLOAT32, FLOAT16, or BFLOAT16 for the mixed bf16/float32 split */
    public Weights(Source source, NDManager manager, DataType dtype) {
        this(source, "", manager, dtype == DataType.BFLOAT16 ? DataType.FLOAT32 : dtype, dtype == DataType.BFLOAT16);
    }

    private Weights(Source source, String prefix, NDManager manager, DataType dtype, boolean bf16) {
        this.source = source;
        this.prefix = prefix;
        this.manager = manager;
        this.dtype = dtype;
        this.bf16 = bf16;
    }

    /** The view one level down: {@code pp("mid_block")}, then {@code pp(0)}. */
    public Weights pp(String name) {
        return new Weights(source, prefix + name + ".", manager, dtype, bf16);
    }

    /** This view with every layer in {@link #dtype()}: for the parts the mixed split keeps in float32. */
    public Weights withoutBf16() {
        return new Weights(source, prefix, manager, dtype, false);
    }

    public Weights pp(int index) {
        return pp(Integer.toString(index));
    }

    public NDManager manager() {
        return manager;
    }

    /** The dtype of the tensors {@link #get} returns and of the activations. */
    public DataType dtype() {
        return dtype;
    }

    /** Whether convolutions, linear layers and attention hold bf16 weights and compute in bf16. */
    public boolean bf16() {
        return bf16;
    }

    public String prefix() {
        return prefix;
    }

    public boolean contains(String name) {
        return source.contains(prefix + name);
    }

    /** The tensor {@code prefix + name}, checked against {@code expectedShape} when one is given. */
    public NDArray get(String name, long... expectedShape) {
        return toDType(source.load(prefix + name, expectedShape, manager));
    }

    /**
     * As {@link #get}, for a tensor the caller converts (to bf16) and closes before it asks for the
     * next one: it is read into a reused buffer instead of mapped, so a bf16 model's resident
     * memory holds the bf16 copies, not the file's float32 pages as well.
     */
    public NDArray getTransient(String name, long... expectedShape) {
        return toDType(source.loadTransient(prefix + name, expectedShape, manager));
    }

    private NDArray toDType(NDArray array) {
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
        /** reused by {@link #loadTransient}: each such tensor is converted and closed before the next */
        private ByteBuffer scratch;

        public FileSource(List<? extends TensorFile> files) {
            this.files = List.copyOf(files);
        }

        @Override
        public boolean contains(String fullName) {
            return files.stream().anyMatch(f -> f.contains(fullName));
        }

        @Override
        public NDArray load(String full, long[] expectedShape, NDManager manager) {
            return Weights.load(fileOf(full), full, expectedShape, manager);
        }

        /** Reads a safetensors tensor (no mapping) into one scratch buffer that grows to the largest asked for. */
        @Override
        public NDArray loadTransient(String full, long[] expectedShape, NDManager manager) {
            TensorFile file = fileOf(full);
            SafeTensors.Entry e = file.entry(full);
            DataType type = switch (e.dtype()) {
                case F32 -> DataType.FLOAT32;
                case F16 -> DataType.FLOAT16;
                default -> null;
            };
            if (type == null || !(file instanceof SafeTensors st)
                    || (expectedShape.length > 0 && !Arrays.equals(e.shape(), expectedShape))) {
                return load(full, expectedShape, manager); // checks the shape and says what is wrong
            }
            long len = e.end() - e.begin();
            synchronized (this) {
                if (scratch == null || scratch.capacity() < len) {
                    scratch = ByteBuffer.allocateDirect(Math.toIntExact(len)).order(ByteOrder.nativeOrder());
                }
                scratch.clear();
                NDArray array = manager.create(st.readInto(full, scratch), new Shape(e.shape()), type);
                array.setName(full);
                return array;
            }
        }

        private TensorFile fileOf(String full) {
            return files.stream().filter(f -> f.contains(full)).findFirst()
                    .orElseThrow(() -> new ModelException(describeFiles() + ": tensor '" + full + "' is missing"));
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
