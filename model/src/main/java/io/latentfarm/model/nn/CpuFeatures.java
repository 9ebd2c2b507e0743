package io.latentfarm.model.nn;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/** The CPU's instruction-set flags that decide bf16 use, from /proc/cpuinfo (none elsewhere). */
public final class CpuFeatures {
    private static volatile Set<String> flags;

    private CpuFeatures() {
    }

    /** AMX-BF16 or AVX512-BF16: the CPU multiplies bf16 matrices natively. */
    public static boolean hasBf16() {
        return hasBf16(flags());
    }

    /** AMX-BF16: bf16 matrix tiles, where every bf16 kernel (attention too) outruns float32. */
    public static boolean hasAmxBf16() {
        return flags().contains("amx_bf16");
    }

    public static boolean hasBf16(Set<String> flags) {
        return flags.contains("amx_bf16") || flags.contains("avx512_bf16");
    }

    /** The flags of a cpuinfo {@code flags} line's value. */
    public static Set<String> parse(String line) {
        return Set.of(line.trim().isEmpty() ? new String[0] : line.trim().split("\\s+"));
    }

    private static Set<String> flags() {
        if (flags == null) {
            flags = read();
        }
        return flags;
    }

    private static Set<String> read() {
        Path info = Path.of("/proc/cpuinfo");
        try {
            if (Files.isReadable(info)) {
                for (String line : Files.readAllLines(info)) {
                    if (line.startsWith("flags")) {
                        return Set.copyOf(parse(line.substring(line.indexOf(':') + 1)));
                    }
                }
            }
        } catch (IOException e) {
            // no cpuinfo: no flags
        }
        return Set.of();
    }
}
