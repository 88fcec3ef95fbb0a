"""Weights: safetensors framing, one-pass scanning, MLX layout rules and the weight manifest."""
