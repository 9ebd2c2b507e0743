package io.latentfarm.model.files;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Reads the pickle torch.save writes (protocol 2, as {@code data.pkl} of its zip) without running
 * any of it. Values become plain Java objects: dicts ({@link LinkedHashMap}), lists, {@link Tuple}s,
 * numbers, strings, byte arrays, {@link TensorRef}s. A global that is only referred to (a class used
 * as a dict key, an object built with NEWOBJ) becomes an inert {@link Placeholder}. Calling a global
 * (REDUCE) is allowed only for the tensor rebuild functions and plain containers; any other call
 * ({@code os.system}, {@code builtins.eval}, ...) stops the load naming the file and the global.
 */
final class SafeUnpickler {

    /** A Python tuple. */
    record Tuple(List<Object> items) {
    }

    /** A module-level name the pickle refers to; never resolved. */
    record Global(String module, String name) {
        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    /** An object of a class latentfarm does not know, kept inert (never constructed). */
    record Placeholder(Global type, Object args) {
    }

    /** A torch storage named by a persistent id: its dtype (null when unsupported), zip key and length. */
    record StorageRef(String storageType, SafeTensorDType dtype, String key, long numel) {
    }

    /** A tensor: a view of a storage with an element offset, shape and strides. */
    record TensorRef(StorageRef storage, long offset, long[] shape, long[] stride) {
    }

    /** Calls that only build data: the tensor rebuild functions and plain containers. */
    private static final Set<String> REBUILD_TENSOR = Set.of(
            "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor");
    /**
     * Calls whose result a state dict never needs: kept as inert placeholders (numpy scalars and
     * arrays in a training callback's state, devices, the pre-protocol-2 object reconstructor).
     */
    private static final Set<String> INERT_CALLS = Set.of(
            "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.dtype",
            "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
            "torch.device", "torch.Size", "copyreg._reconstructor", "builtins.slice",
            "builtins.complex", "pathlib.PosixPath", "pathlib.WindowsPath", "argparse.Namespace");
    /** More items than this on the stack is not a state dict's index. */
    private static final int MAX_STACK = 50_000_000;

    private final Path file;
    private final ByteBuffer in;
    private final Deque<Integer> marks = new ArrayDeque<>();
    private final List<Object> stackList = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private final Function<Tuple, Object> persistentLoad;

    private SafeUnpickler(Path file, byte[] data, Function<Tuple, Object> persistentLoad) {
        this.file = file;
        this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        this.persistentLoad = persistentLoad;
    }

    /** Unpickles {@code data}; {@code file} names the source in errors. */
    static Object load(Path file, byte[] data, Function<Tuple, Object> persistentLoad) {
        return new SafeUnpickler(file, data, persistentLoad).run();
    }

    private Object run() {
        try {
            while (true) {
                int op = in.get() & 0xff;
                switch (op) {
                    case 0x80 -> in.get(); // PROTO
                    case 0x95 -> in.getLong(); // FRAME: frames are only a read-ahead hint
                    case '.' -> { // STOP
                        return pop();
                    }
                    case '(' -> marks.push(stackList.size());
                    case '}' -> push(new LinkedHashMap<>());
                    case ']' -> push(new ArrayList<>());
                    case ')' -> push(new Tuple(List.of()));
                    case 't' -> push(new Tuple(popMark()));
                    case 0x85 -> push(new Tuple(listOf(pop())));
                    case 0x86 -> {
                        Object b = pop();
                        push(new Tuple(listOf(pop(), b)));
                    }
                    case 0x87 -> {
                        Object c = pop();
                        Object b = pop();
                        push(new Tuple(listOf(pop(), b, c)));
                    }
                    case 's' -> {
                        Object v = pop();
                        Object k = pop();
                        dict(peek()).put(k, v);
                    }
                    case 'u' -> {
                        List<Object> kv = popMark();
                        Map<Object, Object> d = dict(peek());
                        for (int i = 0; i + 1 < kv.size(); i += 2) d.put(kv.get(i), kv.get(i + 1));
                    }
                    case 'a' -> {
                        Object v = pop();
                        list(peek()).add(v);
                    }
                    case 'e' -> {
                        List<Object> items = popMark();
                        list(peek()).addAll(items);
                    }
                    case 0x8f -> push(new LinkedHashSet<>()); // EMPTY_SET
                    case 0x90 -> { // ADDITEMS
                        List<Object> items = popMark();
                        Object set = peek();
                        if (set instanceof Set<?>) {
                            @SuppressWarnings("unchecked") Set<Object> s = (Set<Object>) set;
                            s.addAll(items);
                        }
                    }
                    case 0x91 -> push(new LinkedHashSet<>(popMark())); // FROZENSET
                    case 'K' -> push((long) (in.get() & 0xff));
                    case 'M' -> push((long) (in.getShort() & 0xffff));
                    case 'J' -> push((long) in.getInt());
                    case 0x8a -> push(readLong(in.get() & 0xff));
                    case 0x8b -> push(readLong(checkedLength(in.getInt())));
                    case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // BINFLOAT is big-endian
                    case 'X' -> push(readString(checkedLength(in.getInt())));
                    case 0x8c -> push(readString(in.get() & 0xff));
                    case 0x8d -> push(readString(checkedLength(in.getLong())));
                    case 'T' -> push(readString(checkedLength(in.getInt())));
                    case 'U' -> push(readString(in.get() & 0xff));
                    case 'B' -> push(readBytes(checkedLength(in.getInt())));
                    case 'C' -> push(readBytes(in.get() & 0xff));
                    case 0x8e -> push(readBytes(checkedLength(in.getLong())));
                    case 0x88 -> push(Boolean.TRUE);
                    case 0x89 -> push(Boolean.FALSE);
                    case 'N' -> push(null);
                    case 'c' -> push(new Global(readLine(), readLine()));
                    case 0x93 -> {
                        Object name = pop();
                        push(new Global(String.valueOf(pop()), String.valueOf(name)));
                    }
                    case 'q' -> memo.put((long) (in.get() & 0xff), peek());
                    case 'r' -> memo.put(in.getInt() & 0xffffffffL, peek());
                    case 0x94 -> memo.put((long) memo.size(), peek());
                    case 'h' -> push(memoGet(in.get() & 0xff));
                    case 'j' -> push(memoGet(in.getInt() & 0xffffffffL));
                    case '0' -> pop();
                    case '2' -> push(peek());
                    case '1' -> popMark();
                    case 'Q' -> { // BINPERSID
                        Object pid = pop();
                        if (!(pid instanceof Tuple t)) throw corrupt("a persistent id that is not a tuple");
                        push(persistentLoad.apply(t));
                    }
                    case 'R' -> { // REDUCE
                        Object args = pop();
                        push(call(pop(), args));
                    }
                    case 0x81 -> { // NEWOBJ: cls.__new__(cls, *args): an instance, never constructed here
                        Object args = pop();
                        push(new Placeholder(global(pop()), args));
                    }
                    case 0x92 -> { // NEWOBJ_EX
                        Object kwargs = pop();
                        Object args = pop();
                        push(new Placeholder(global(pop()), listOf(args, kwargs)));
                    }
                    case 'b' -> { // BUILD: state for __setstate__, which is never run
                        Object state = pop();
                        Object obj = pop();
                        push(obj instanceof Placeholder p && p.args() == null ? new Placeholder(p.type(), state) : obj);
                    }
                    default -> throw corrupt(String.format("unsupported pickle opcode 0x%02x at byte %d"
                            + " (latentfarm reads the binary pickles torch.save writes)", op, in.position() - 1));
                }
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw corrupt("the pickle ends before its STOP opcode");
        } catch (ClassCastException | java.util.NoSuchElementException e) {
            throw corrupt("the pickle's stack is malformed at byte " + in.position());
        }
    }

    /** REDUCE: only data-building calls are allowed; anything else is refused before it could run. */
    private Object call(Object callable, Object argsObj) {
        Global g = global(callable);
        String name = g.toString();
        List<Object> args = argsObj instanceof Tuple t ? t.items() : List.of();
        if (REBUILD_TENSOR.contains(name)) {
            if (args.size() < 4 || !(args.get(0) instanceof StorageRef s)) {
                throw corrupt(name + " without a storage, offset, size and stride");
            }
            return new TensorRef(s, ((Number) args.get(1)).longValue(), longs(args.get(2)), longs(args.get(3)));
        }
        switch (name) {
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> {
                return args.isEmpty() ? null : args.get(0);
            }
            case "collections.OrderedDict", "builtins.dict" -> {
                Map<Object, Object> d = new LinkedHashMap<>();
                if (!args.isEmpty() && args.get(0) instanceof List<?> pairs) {
                    for (Object p : pairs) {
                        if (p instanceof Tuple t && t.items().size() == 2) d.put(t.items().get(0), t.items().get(1));
                    }
                }
                return d;
            }
            case "builtins.set", "builtins.frozenset" -> {
                return args.isEmpty() ? new LinkedHashSet<>() : new LinkedHashSet<>((List<?>) args.get(0));
            }
            case "builtins.list" -> {
                return args.isEmpty() ? new ArrayList<>() : new ArrayList<>((List<?>) args.get(0));
            }
            case "_codecs.encode" -> { // how protocol 2 writes bytes: encode(text, 'latin1')
                return args.isEmpty() ? new byte[0] : String.valueOf(args.get(0)).getBytes(StandardCharsets.ISO_8859_1);
            }
            default -> {
                if (INERT_CALLS.contains(name)) {
                    return new Placeholder(g, argsObj);
                }
                throw new ModelException(file + ": refusing to load: its pickle calls " + name
                        + ", which is not part of a plain tensor checkpoint (latentfarm never runs code from a pickle)");
            }
        }
    }

    private Global global(Object o) {
        if (o instanceof Global g) return g;
        throw new ModelException(file + ": refusing to load: its pickle calls " + describe(o)
                + ", which is not a global (latentfarm never runs code from a pickle)");
    }

    private static String describe(Object o) {
        return o instanceof Placeholder p ? "an instance of " + p.type() : String.valueOf(o);
    }

    private static long[] longs(Object o) {
        List<?> items = o instanceof Tuple t ? t.items() : (List<?>) o;
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Number) items.get(i)).longValue();
        return out;
    }

    private static List<Object> listOf(Object... items) {
        return java.util.Collections.unmodifiableList(Arrays.asList(items));
    }

    private Object memoGet(long key) {
        if (!memo.containsKey(key)) throw corrupt("memo key " + key + " is read before it is written");
        return memo.get(key);
    }

    private void push(Object o) {
        if (stackList.size() >= MAX_STACK) throw corrupt("the pickle's stack grows past " + MAX_STACK + " items");
        stackList.add(o);
    }

    private Object pop() {
        if (stackList.isEmpty() || (!marks.isEmpty() && marks.peek() == stackList.size())) {
            throw corrupt("the pickle pops an empty stack at byte " + in.position());
        }
        return stackList.remove(stackList.size() - 1);
    }

    private Object peek() {
        if (stackList.isEmpty()) throw corrupt("the pickle reads an empty stack at byte " + in.position());
        return stackList.get(stackList.size() - 1);
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) throw corrupt("the pickle has no MARK at byte " + in.position());
        int m = marks.pop();
        List<Object> items = new ArrayList<>(stackList.subList(m, stackList.size()));
        stackList.subList(m, stackList.size()).clear();
        return items;
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o) {
        if (o instanceof Map<?, ?> m) return (Map<Object, Object>) m;
        if (o instanceof Placeholder) return new LinkedHashMap<>(); // an unknown mapping type: its items are dropped
        throw corrupt("SETITEM on " + describe(o));
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) {
        if (o instanceof ArrayList<?> l) return (List<Object>) l;
        if (o instanceof Placeholder) return new ArrayList<>();
        throw corrupt("APPEND on " + describe(o));
    }

    private Object readLong(int n) {
        byte[] le = new byte[n];
        in.get(le);
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) be[i] = le[n - 1 - i];
        BigInteger v = n == 0 ? BigInteger.ZERO : new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private int checkedLength(long n) {
        if (n < 0 || n > in.remaining()) throw corrupt("a length of " + n + " bytes runs past the pickle's end");
        return (int) n;
    }

    private String readString(int n) {
        return new String(readBytes(n), StandardCharsets.UTF_8);
    }

    private byte[] readBytes(int n) {
        byte[] b = new byte[checkedLength(n)];
        in.get(b);
        return b;
    }

    private String readLine() {
        StringBuilder sb = new StringBuilder();
        while (true) {
            byte b = in.get();
            if (b == '\n') return sb.toString();
            if (sb.length() > 1000) throw corrupt("a GLOBAL name runs past 1000 bytes");
            sb.append((char) (b & 0xff));
        }
    }

    private ModelException corrupt(String why) {
        return new ModelException(file + ": unreadable pickle: " + why);
    }
}
