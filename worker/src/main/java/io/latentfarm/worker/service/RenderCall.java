package io.latentfarm.worker.service;

import io.latentfarm.common.message.RenderJob;
import io.latentfarm.common.message.SeedMode;
import io.latentfarm.model.pipeline.GenerationRequest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One denoising call for one or more jobs: jobs of the same batch that share the generator (same
 * seed, same batch draw) and everything else but the prompt are rendered together as the images
 * {@link #indices} of that draw.
 *
 * <p>The call's {@link GenerationRequest} has one prompt per image of the batch draw
 * ({@code imagesPerPrompt} 1): the job's prompt at its slice, and a stand-in (the first job's
 * prompt) at slices nobody here renders; the pipeline encodes only the prompts of the images it
 * renders, and draws the noise for the whole batch, so each image equals that image of the full call.
 *
 * @param jobs one per index, in the same order
 */
record RenderCall(GenerationRequest request, int[] indices, List<RenderJob> jobs) {

    /** The job whose image is slice {@code sliceIndex} of the draw. */
    RenderJob jobAt(int sliceIndex) {
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] == sliceIndex) {
                return jobs.get(i);
            }
        }
        throw new IllegalArgumentException("no job renders slice " + sliceIndex);
    }

    /** Groups jobs into as few calls as sharing a generator allows; duplicates (same job id) render once. */
    static List<RenderCall> plan(List<RenderJob> jobs) {
        Map<String, RenderJob> unique = new LinkedHashMap<>();
        for (RenderJob job : jobs) {
            unique.merge(job.jobId(), job, (a, b) -> a.attempt() >= b.attempt() ? a : b);
        }
        List<List<RenderJob>> groups = new ArrayList<>();
        for (RenderJob job : unique.values()) {
            List<RenderJob> home = null;
            if (job.seedMode() == SeedMode.BATCH) {
                for (List<RenderJob> g : groups) {
                    if (sharesGenerator(g.get(0), job)) {
                        home = g;
                        break;
                    }
                }
            }
            if (home == null) {
                home = new ArrayList<>();
                groups.add(home);
            }
            home.add(job);
        }
        List<RenderCall> calls = new ArrayList<>();
        for (List<RenderJob> g : groups) {
            calls.add(of(g));
        }
        return calls;
    }

    private static boolean sharesGenerator(RenderJob a, RenderJob b) {
        return a.seedMode() == SeedMode.BATCH && b.seedMode() == SeedMode.BATCH
                && a.batchId().equals(b.batchId()) && a.generatorSeed() == b.generatorSeed()
                && a.batchSize() == b.batchSize() && a.negativePrompt().equals(b.negativePrompt())
                && a.compatibleWith(b) && a.sliceIndex() != b.sliceIndex();
    }

    static RenderCall of(List<RenderJob> group) {
        RenderJob first = group.get(0);
        String[] prompts = new String[first.batchSize()];
        Arrays.fill(prompts, first.prompt());
        int[] indices = new int[group.size()];
        for (int i = 0; i < group.size(); i++) {
            RenderJob job = group.get(i);
            prompts[job.sliceIndex()] = job.prompt();
            indices[i] = job.sliceIndex();
        }
        GenerationRequest request = new GenerationRequest(List.of(prompts), first.negativePrompt(), 1,
                first.steps(), first.guidance(), first.generatorSeed(), first.width(), first.height(),
                first.scheduler());
        return new RenderCall(request, indices, List.copyOf(group));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RenderCall c && request.equals(c.request) && Arrays.equals(indices, c.indices)
                && jobs.equals(c.jobs);
    }

    @Override
    public int hashCode() {
        return Objects.hash(request, Arrays.hashCode(indices), jobs);
    }
}
