"""tinyrel: release and packaging manager for fine-tuned MLX models.

The package layout follows the release pipeline:
``sources`` (where artifacts live, the lock) → ``weights`` (safetensors validation, the manifest)
→ ``policy`` (release spec, blockers) → ``card`` → ``signing`` → ``hub`` (publish) → verify.
"""

__version__ = "0.1.0"
