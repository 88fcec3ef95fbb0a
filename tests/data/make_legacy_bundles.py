"""Re-create the checked-in bundles signed by older model_signing releases (provenance of tests/data).

Each directory holds a tiny mlx-written model, the public key / CA certificate, and the bundles
that model_signing VERSION produced for it.  Run with an interpreter that has that version:

    python -m venv /tmp/ms && /tmp/ms/bin/pip install model-signing==0.3.1 pyopenssl "sigstore<3.7" \\
        sigstore-protobuf-specs
    /tmp/ms/bin/python tests/data/make_legacy_bundles.py tests/data/model_signing-0.3.1 KEYDIR

KEYDIR comes from ``signing_keys.write_key_material(KEYDIR, days=36500)`` (run in the dev venv).
The signer classes are used directly because those releases' ``signing.Config()`` contacts Sigstore's
TUF repository even for key signing.  model_signing 0.3.1's certificate signer is broken upstream
(``raw_byutes``), so that directory has a key bundle only.
"""

from __future__ import annotations

import pathlib
import sys

import model_signing
from model_signing import hashing
from model_signing._signing import sign_certificate, sign_ec_key, signing

out, keys = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
payload = signing.Payload(hashing.Config().hash(out / "model"))
sign_ec_key.Signer(keys / "k.pem").sign(payload).write(out / "key.sig")
try:
    sign_certificate.Signer(keys / "leaf.pem", keys / "leaf.crt", [keys / "ca.crt"]).sign(payload).write(
        out / "certificate.sig"
    )
except TypeError as exc:  # 0.3.1
    print(f"certificate signing unavailable in {model_signing.__version__}: {exc}")
print(f"signed {out} with model_signing {model_signing.__version__}")
