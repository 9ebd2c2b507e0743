package io.latentfarm.worker.service;

/**
 * A worker's state for health checks and logs.
 *
 * @param modelLoaded   whether a model is loaded and ready to render
 * @param model         its label
 * @param device        where it computes (cpu, cuda:0)
 * @param dtype         in which precision (fp32, fp16, bf16)
 * @param running       whether the job consumer is running
 * @param currentJob    the job id being rendered, or null when idle
 * @param rendered      images rendered since start
 * @param failed        jobs whose rendering failed since start
 * @param skipped       jobs of cancelled batches skipped since start
 */
public record WorkerStatus(String workerId, boolean modelLoaded, String model, String device, String dtype, boolean running,
                           String currentJob, long rendered, long failed, long skipped) {
}
