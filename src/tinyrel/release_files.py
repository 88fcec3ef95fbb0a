"""The names of the files a tinyrel release consists of, besides the weights: defined once.

A hosted release is one commit holding the weights plus these; a metadata-only release is these
alone.  The gate, the publisher, the verifier and ``--out`` safety all use this one set.
"""

from __future__ import annotations

SIGNATURE = "model.sig"  # the OMS bundle over every other file
CARD = "README.md"  # the model card, as the gate rendered and checked it
MANIFEST = "manifest.json"
LOCK = "tinyrel.lock"
SPEC_SNAPSHOT = "release.toml"
RELEASE_FILES = frozenset({CARD, SIGNATURE, MANIFEST, LOCK, SPEC_SNAPSHOT})
