package io.latentfarm.service;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** Loads the PyTorch engine for real (natives unpacked, one operation run) and says what it found. */
final class EngineCheck {
    private EngineCheck() {
    }

    static String run() {
        Engine engine = Engine.getEngine("PyTorch");
        try (NDManager manager = engine.newBaseManager()) {
            NDArray a = manager.create(new float[] {0, 1, 2, 3}).reshape(2, 2);
            float sum = a.matMul(a).sum().getFloat(); // [[2,3],[6,11]]
            if (sum != 22f) {
                throw new IllegalStateException("engine check: a 2x2 matmul summed to " + sum + ", expected 22");
            }
        }
        return "engine: PyTorch " + engine.getVersion() + " loaded, " + engine.getGpuCount() + " GPU(s) visible";
    }
}
