"""``tinyrel sign MODEL_PATH --signature FILE (--private-key PEM | --sigstore)``: write an OMS bundle."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from tinyrel import api
from tinyrel.cli.common import Outcome, option_group, output_options, report_command
from tinyrel.findings import TinyrelError
from tinyrel.signing.sign import SignerConfig

# Signing-method options, shared by ``sign`` and ``publish``.
signer_options = option_group(
    click.option(
        "--private-key",
        type=click.Path(path_type=Path),
        help="EC private key (PEM, P-256/P-384) for key or certificate signing.",
    ),
    click.option("--key-password-env", metavar="VAR", help="Environment variable holding the key's password."),
    click.option(
        "--signing-certificate",
        type=click.Path(path_type=Path),
        help="Certificate of the private key: selects certificate signing.",
    ),
    click.option(
        "--certificate-chain",
        "chain",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Intermediate/root certificates to embed (repeatable).",
    ),
    click.option(
        "--sigstore",
        "keyless",
        is_flag=True,
        help="Sigstore keyless signing with ambient CI credentials (needs network).",
    ),
    click.option(
        "--identity-token",
        envvar="SIGSTORE_ID_TOKEN",
        show_envvar=True,
        help="Sigstore: an explicit OIDC token (default: detected from the CI environment).",
    ),
    click.option(
        "--sigstore-trust-config",
        type=click.Path(path_type=Path),
        help="Sigstore: a client trust config for a private Sigstore instance.",
    ),
)


def signer_config(
    private_key: Path | None,
    key_password_env: str | None,
    signing_certificate: Path | None,
    chain: tuple[Path, ...],
    keyless: bool,
    identity_token: str | None = None,
    sigstore_trust_config: Path | None = None,
) -> SignerConfig:
    """The signing options as a SignerConfig; the method follows from which options are given."""
    if key_password_env and key_password_env not in os.environ:
        raise TinyrelError("usage/key-password", f"--key-password-env: ${key_password_env} is not set", usage=True)
    method = "sigstore" if keyless else "certificate" if signing_certificate else "key"
    password = os.environ.get(key_password_env) if key_password_env else None
    return SignerConfig(
        method, private_key, password, signing_certificate, tuple(chain), identity_token,
        trust_config=sigstore_trust_config,
    )  # fmt: skip


@click.command("sign")
@click.argument("model_path", type=click.Path(path_type=Path))
@click.option(
    "--signature",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write the bundle (e.g. MODEL/model.sig; it is never signed itself).",
)
@click.option(
    "--ignore-path",
    "ignore",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Leave this file or directory out of the signature (recorded in the bundle).",
)
@click.option(
    "--shard-size",
    type=int,
    metavar="BYTES",
    help="Sign SHA-256 digests of BYTES-sized shards (OMS 'shards') instead of whole files.",
)
@signer_options
@output_options
@report_command
def sign_command(
    model_path: Path, signature: Path, ignore: tuple[Path, ...], shard_size: int | None, **signer: Any
) -> Outcome:
    """Sign MODEL_PATH in the OpenSSF Model Signing (OMS v1.0) format."""
    report = api.sign(model_path, signature, signer_config(**signer), ignore=ignore, shard_size=shard_size)
    data = report.data
    return Outcome(report, f"signed {data['files']} files of {model_path} ({data['method']}) → {signature}")
