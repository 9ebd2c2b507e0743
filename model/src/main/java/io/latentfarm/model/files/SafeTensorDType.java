package io.latentfarm.model.files;

import java.util.Locale;

/** The safetensors dtypes latentfarm reads, with their element sizes. */
public enum SafeTensorDType {
    F32(4), F16(2), BF16(2), I64(8), I32(4), U8(1);

    public final int bytes;

    SafeTensorDType(int bytes) {
        this.bytes = bytes;
    }

    public boolean isFloat() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** Parses a header dtype; null when latentfarm does not support it. */
    static SafeTensorDType parse(String s) {
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
