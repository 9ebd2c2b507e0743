package io.latentfarm.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static io.latentfarm.cli.CliTestSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bench cluster} on the real embedded broker and S3 server with synthetic workers: every
 * image is in the bucket and in its manifest, each batch completes once, and the last line has the
 * issue's format (what the figures are is not asserted: no timed tests).
 */
class BenchClusterTest {

    @Test
    void sixteenImagesOnTwoWorkersNothingLostNothingCompletedTwice() {
        CliTestSupport.Run r = run("bench", "cluster", "--images", "16", "--workers", "2", "--render-ms", "0",
                "--batches", "2");
        assertEquals(0, r.code(), r.out() + r.err());
        List<String> lines = r.out().lines().toList();
        String last = lines.get(lines.size() - 1);
        assertTrue(last.matches("bench cluster: 16 images in [0-9]+\\.[0-9]{2} s, [0-9]+\\.[0-9] images/s,"
                + " overhead -?[0-9]+\\.[0-9]{2} ms/image, lost 0, duplicate completions 0,"
                + " coordinator heap peak [0-9]+ MiB"), last);
        assertTrue(r.out().contains("2 completed, 0 other"), r.out());
    }

    @Test
    void badFiguresAreOneLineErrorsNamingTheOption() {
        CliTestSupport.Run r = run("bench", "cluster", "--images", "0");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("--images: 0 is below 1"), r.err());
        r = run("bench", "cluster", "--images", "4", "--batches", "5");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("--batches: 5 must be 1 to --images (4)"), r.err());
    }
}
