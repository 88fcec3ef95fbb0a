"""Signed in-toto statements about a release: what it was built from (SLSA provenance), what each
eval measured (test results), what the gate decided (a SLSA verification summary) and what it is
made of (a CycloneDX ML-BOM) — each bound to the release's weight digests and card, and signed by
the release's signer in a DSSE envelope inside a Sigstore bundle, exactly like ``model.sig``.

``kinds`` names them; ``build`` assembles them from a gate result; ``workspace`` writes them for a
workspace without publishing (``tinyrel attest``).  ``tinyrel.verifying.attestations`` checks them.
"""
