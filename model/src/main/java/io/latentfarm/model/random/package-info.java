/**
 * torch's CPU random generator re-implemented bit-exact: the initial latents and the noise
 * schedulers draw inside their steps. Below both the schedulers and the pipeline, so neither
 * depends on the other for it.
 */
package io.latentfarm.model.random;
