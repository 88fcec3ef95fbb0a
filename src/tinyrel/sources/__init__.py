"""Sources and the package lock: where each artifact really lives, pinned by size and SHA-256."""
