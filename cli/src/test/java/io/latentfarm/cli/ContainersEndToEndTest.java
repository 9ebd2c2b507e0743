package io.latentfarm.cli;

import io.latentfarm.common.Topics;
import io.latentfarm.common.image.Grid;
import io.latentfarm.common.image.Png;
import io.latentfarm.common.image.RgbImage;
import io.latentfarm.common.message.BatchEvent;
import io.latentfarm.common.message.RenderRequest;
import io.latentfarm.client.storage.ObjectStore;
import io.latentfarm.client.storage.ObjectStoreConfig;
import io.latentfarm.client.BatchClient;
import io.latentfarm.embedded.LocalImageServices;
import io.latentfarm.coordinator.Coordinator;
import io.latentfarm.coordinator.CoordinatorSettings;
import io.latentfarm.common.spec.RenderSpec;
import io.latentfarm.model.pipeline.PipelineOptions;
import io.latentfarm.model.pipeline.ProgressListener;
import io.latentfarm.model.pipeline.RenderedImage;
import io.latentfarm.worker.service.JobWorker;
import io.latentfarm.worker.service.PipelineRenderer;
import io.latentfarm.embedded.EmbeddedS3;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Testcontainers;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The 2x2 end-to-end run against the broker and S3 server in containers of the project's own CLI
 * image ({@link LocalImageServices}); skipped (not failed) where no Docker engine answers or the image
 * is not built.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainersEndToEndTest {
    private static LocalImageServices.Running services;

    @BeforeAll
    static void start() {
        services = LocalImageServices.start();
    }

    @AfterAll
    static void stop() {
        if (services != null) {
            services.close();
        }
    }

    @Test
    void twoByTwoGridOnContainers() {
        ObjectStoreConfig config = ObjectStoreConfig.s3Compatible(URI.create(services.endpoint()),
                EmbeddedS3.DEFAULT_BUCKET, EmbeddedS3.DEFAULT_ACCESS_KEY, EmbeddedS3.DEFAULT_SECRET_KEY);
        String bootstrap = services.bootstrap();
        try (ObjectStore store = ObjectStore.open(config);
             PipelineRenderer renderer = PipelineRenderer.load(EndToEndTest.MODEL, PipelineOptions.cpu(), null)) {
            store.createBucketIfMissing();
            try (Coordinator coordinator = new Coordinator(EndToEndTest.coordinatorSettings(bootstrap, Topics.defaults(),
                    "latentfarm-coordinator", "containers-coordinator", 3), store).start();
                 JobWorker worker = new JobWorker(EndToEndTest.workerSettings(bootstrap, Topics.defaults(),
                         "latentfarm-workers", "containers-worker"), renderer, store).start();
                 BatchClient client = new BatchClient(bootstrap, Topics.defaults())) {
                RenderRequest request = RenderRequest.builder().batchId("containers").prompt("a red fox").grid(2, 2)
                        .steps(2).size(64, 64).seed(9L).build();
                BatchEvent done;
                try (BatchClient.Events events = client.events("containers", true)) {
                    client.submit(request);
                    done = events.awaitFinal(Duration.ofSeconds(180), e -> { }).orElseThrow();
                }
                assertEquals(BatchEvent.Type.COMPLETED, done.type());
                List<RenderedImage> expected = renderer.render(RenderSpec.builder().prompt("a red fox")
                        .count(4).steps(2).seed(9L).size(64, 64).scheduler("pndm").build().images(), ProgressListener.NONE);
                List<RgbImage> images = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    RgbImage actual = Png.decode(store.get(done.imageKeys().get(i)));
                    RenderedImage e = expected.get(i);
                    assertEquals(new RgbImage(e.width(), e.height(), e.rgb()), actual, "image " + i);
                    images.add(actual);
                }
                assertEquals(Grid.compose(images, 2, 2), Png.decode(store.get(done.gridKey())));
            }
        }
    }
}
