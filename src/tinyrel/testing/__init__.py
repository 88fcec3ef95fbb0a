"""Test doubles for tools that publish to the Hugging Face Hub or sign with Sigstore.

- ``tinyrel.testing.hub``: a local Hugging Face Hub (``EmulatorServer``; ``python -m
  tinyrel.testing.hub --host H --port P --data DIR --token T``) that the real huggingface_hub
  client talks to over HTTP, with fault injection;
- ``tinyrel.testing.sigstore``: a private Sigstore (Fulcio-style CA, Rekor log, OIDC discovery)
  that sigstore-python and model_signing sign and verify against, offline.

Like ``moto`` or ``responses`` in their ecosystems, they let a test suite exercise real clients
without a network.
"""
