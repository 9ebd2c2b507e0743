package io.latentfarm.common;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The one table of samplers: the short name a user types ({@code --scheduler}, a request's
 * {@code scheduler}), the diffusers scheduler class it builds with its {@code from_config} overrides
 * (on top of the model's own {@code scheduler_config.json}), and the label AUTOMATIC1111's web UI
 * writes as "Sampler:" in PNG parameters. Without a name, the model's own scheduler class is used,
 * as diffusers does; {@link #nameFor} tells which entry that is.
 */
public final class SchedulerRegistry {

    /** One sampler: {@code className.from_config(model config, **overrides)}. */
    public record Entry(String name, String className, Map<String, Object> overrides, String label) {
        public Entry {
            overrides = Collections.unmodifiableMap(new LinkedHashMap<>(overrides));
        }
    }

    private static final Map<String, Entry> BY_NAME = new LinkedHashMap<>();

    private static void add(String name, String className, String label, Object... overrides) {
        Map<String, Object> o = new LinkedHashMap<>();
        for (int i = 0; i < overrides.length; i += 2) o.put((String) overrides[i], overrides[i + 1]);
        BY_NAME.put(name, new Entry(name, className, o, label));
    }

    private static final String DPM = "DPMSolverMultistepScheduler";
    private static final String EULER = "EulerDiscreteScheduler";
    private static final String LMS = "LMSDiscreteScheduler";
    private static final String DPM2 = "KDPM2DiscreteScheduler";
    private static final String DPM2_A = "KDPM2AncestralDiscreteScheduler";

    static {
        add("pndm", "PNDMScheduler", "PNDM");
        add("ddim", "DDIMScheduler", "DDIM");
        add("lms", LMS, "LMS");
        add("euler", EULER, "Euler");
        add("euler_a", "EulerAncestralDiscreteScheduler", "Euler a");
        add("dpmpp_2m", DPM, "DPM++ 2M", "algorithm_type", "dpmsolver++", "solver_order", 2);
        add("dpmpp_2m_karras", DPM, "DPM++ 2M Karras",
                "algorithm_type", "dpmsolver++", "solver_order", 2, "use_karras_sigmas", true);
        add("dpmpp_2m_sde", DPM, "DPM++ 2M SDE", "algorithm_type", "sde-dpmsolver++", "solver_order", 2);
        add("dpmpp_2m_sde_karras", DPM, "DPM++ 2M SDE Karras",
                "algorithm_type", "sde-dpmsolver++", "solver_order", 2, "use_karras_sigmas", true);
        add("euler_karras", EULER, "Euler Karras", "use_karras_sigmas", true);
        add("lms_karras", LMS, "LMS Karras", "use_karras_sigmas", true);
        add("heun", "HeunDiscreteScheduler", "Heun");
        add("dpm2", DPM2, "DPM2");
        add("dpm2_karras", DPM2, "DPM2 Karras", "use_karras_sigmas", true);
        add("dpm2_a", DPM2_A, "DPM2 a");
        add("dpm2_a_karras", DPM2_A, "DPM2 a Karras", "use_karras_sigmas", true);
        add("unipc", "UniPCMultistepScheduler", "UniPC");
        add("deis", "DEISMultistepScheduler", "DEIS");
        add("ddpm", "DDPMScheduler", "DDPM");
        add("ddim_trailing", "DDIMScheduler", "DDIM Trailing", "timestep_spacing", "trailing");
        add("pndm_prk", "PNDMScheduler", "PLMS", "skip_prk_steps", false);
    }

    private SchedulerRegistry() {
    }

    /** Every sampler, in the order help and error messages list them. */
    public static List<Entry> all() {
        return List.copyOf(BY_NAME.values());
    }

    /** The short names, in table order. */
    public static List<String> names() {
        return List.copyOf(BY_NAME.keySet());
    }

    public static Optional<Entry> byName(String name) {
        return Optional.ofNullable(name == null ? null : BY_NAME.get(name));
    }

    public static boolean isKnown(String name) {
        return byName(name).isPresent();
    }

    /** The "Sampler:" label of PNG parameters; a name not in the table is returned unchanged. */
    public static String label(String name) {
        return byName(name).map(Entry::label).orElse(name);
    }

    /** "name (label)" for each sampler, comma separated: for help texts and error messages. */
    public static String describe() {
        List<String> out = new ArrayList<>();
        for (Entry e : BY_NAME.values()) out.add(e.name() + " (" + e.label() + ")");
        return String.join(", ", out);
    }

    /**
     * The entry a resolved scheduler configuration is: of those for {@code className} whose overrides
     * all hold in {@code config}, the most specific (so a DPM-Solver folder with Karras sigmas is
     * {@code dpmpp_2m_karras}); empty when the class is not in the table.
     */
    public static Optional<Entry> nameFor(String className, Map<String, ?> config) {
        Entry best = null;
        Entry first = null;
        for (Entry e : BY_NAME.values()) {
            if (!e.className().equals(className)) continue;
            if (first == null) first = e;
            boolean holds = e.overrides().entrySet().stream().allMatch(o -> sameValue(o.getValue(), config.get(o.getKey())));
            if (holds && (best == null || e.overrides().size() > best.overrides().size())) best = e;
        }
        return Optional.ofNullable(best != null ? best : first);
    }

    private static boolean sameValue(Object wanted, Object actual) {
        if (wanted instanceof Number w && actual instanceof Number a) return w.doubleValue() == a.doubleValue();
        return Objects.equals(wanted, actual);
    }
}
