package io.latentfarm.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The model module is what a program that embeds the pipeline depends on: DJL and plain data only.
 * A dependency that drags a broker client, a web framework or the S3 SDK in fails here.
 */
class ModelClasspathTest {

    @Test
    void noKafkaMicronautOrS3OnTheModelsClasspath() {
        for (String name : new String[]{
                "org.apache.kafka.clients.producer.KafkaProducer",
                "io.micronaut.context.ApplicationContext",
                "software.amazon.awssdk.services.s3.S3Client"}) {
            assertThrows(ClassNotFoundException.class, () -> Class.forName(name), name);
        }
    }
}
