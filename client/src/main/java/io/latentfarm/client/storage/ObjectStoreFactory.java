package io.latentfarm.client.storage;

import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Factory;
import jakarta.inject.Singleton;

/**
 * The services' one object store, from {@code latentfarm.s3.*}: the coordinator and the worker (and
 * {@code latentfarm local}, which runs both in one context) share it.
 */
@Factory
public class ObjectStoreFactory {
    @Singleton
    @Bean(preDestroy = "close")
    ObjectStore objectStore(ObjectStoreConfig config) {
        return ObjectStore.open(config);
    }
}
