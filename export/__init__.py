"""Offline, heavy side of art2mus: loads real checkpoints (or builds tiny random-weight ones in the
same layout), wraps the four stages, exports ONNX, checks parity and writes the model bundle.
The only package that imports torch, diffusers and transformers."""
