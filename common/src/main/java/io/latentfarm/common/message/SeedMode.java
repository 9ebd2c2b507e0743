package io.latentfarm.common.message;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Arrays;
import java.util.Optional;

/** How a batch seed becomes each image's initial noise. */
public enum SeedMode {
    /**
     * Diffusers' way: one CPU generator seeded with S draws {@code randn(N, 4, h/8, w/8)} for the
     * whole batch of N images, and image i is slice i. Reproduces {@code pipe(prompts,
     * num_images_per_prompt=n, generator=torch.Generator("cpu").manual_seed(S))}.
     */
    BATCH("batch"),
    /** Image i gets its own generator seeded with S + i and draws {@code randn(1, 4, h/8, w/8)}. */
    PER_IMAGE("per-image");

    private final String wireName;

    SeedMode(String wireName) {
        this.wireName = wireName;
    }

    @JsonValue
    public String wireName() {
        return wireName;
    }

    /** The mode with this JSON name ("batch" or "per-image"), if any. */
    public static Optional<SeedMode> parse(String name) {
        return Arrays.stream(values()).filter(m -> m.wireName.equals(name)).findFirst();
    }

    @JsonCreator
    static SeedMode fromJson(String name) {
        return parse(name).orElseThrow(() -> new IllegalArgumentException(
                "\"" + name + "\" is not one of batch, per-image"));
    }
}
