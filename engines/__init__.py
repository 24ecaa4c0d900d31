"""Runtime inference for Art2Mus: stage specs, the model bundle, engine backends, schedulers and
the pipeline. Light on purpose: numpy + onnxruntime (+ tensorrt on a GPU box). Never imports torch."""
