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
RECORDS_DIR = "evals"  # the per-item eval records the card's numbers are recomputed from
EVAL_RESULTS_DIR = ".eval_results"  # Hugging Face's eval results for benchmark datasets
ATTESTATIONS_DIR = "attestations"  # signed in-toto statements and the ML-BOM (tinyrel.attesting)
RELEASE_DIRS = frozenset({RECORDS_DIR, EVAL_RESULTS_DIR, ATTESTATIONS_DIR})
# huggingface_hub's per-directory download state (``hf download --local-dir``): never release content.
HF_LOCAL_DIR_STATE = ".cache/huggingface"


def is_release_metadata(path: str) -> bool:
    """A file the release adds besides the weights (card, signature, records, eval results…)."""
    return path in RELEASE_FILES or path.split("/", 1)[0] in RELEASE_DIRS


def made_at_signing(path: str) -> bool:
    """``model.sig`` and the attestations: the signer makes them at publish time, and their bytes
    differ from run to run (ECDSA nonces, Sigstore certificates), so a re-run compares them by presence."""
    return path == SIGNATURE or path.split("/", 1)[0] == ATTESTATIONS_DIR
