/**
 * torch's CPU random generator re-implemented bit-exact: the initial latents and the noise
 * schedulers draw inside their steps, with mt19937 jump-ahead so that one image's slice of a
 * huge batch's draw costs the slice, not the batch. Below both the schedulers and the pipeline,
 * so neither depends on the other for it.
 */
package io.latentfarm.model.random;
