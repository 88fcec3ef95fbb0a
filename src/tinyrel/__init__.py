"""tinyrel: release and packaging manager for fine-tuned MLX models.

Use it from Python the way the CLI does — every command is a thin wrapper over one function here::

    import tinyrel
    from pathlib import Path

    report = tinyrel.validate("~/models/my-specialist")          # structure, values, hygiene
    tinyrel.write_manifest("~/models/my-specialist", "my-release/manifests/my-specialist.json")
    gate = tinyrel.check("my-release")                             # the release gate
    print(gate.card)                                               # the card it checked
    signer = tinyrel.SignerConfig(method="key", private_key=Path("~/.keys/release.pem").expanduser())
    result = tinyrel.publish("my-release", mode="weights", repo_id="my-org/my-specialist", signer=signer)
    trust = tinyrel.VerifierConfig(public_key=Path("publisher.pub"))
    assert tinyrel.verify("hf://my-org/my-specialist@v0.1.0", trust).ok

Functions return data (``Report``: findings with stable codes plus ``data``; ``GateResult``;
``PublishResult``) and raise ``TinyrelError`` when they cannot run.  The package layout follows
the release pipeline: ``sources`` (the lock) → ``weights`` (validation, the manifest) → ``policy``
(spec, blockers, gate) → ``card`` → ``signing`` → ``publishing`` → ``verifying``; ``diffing``
compares releases and ``testing`` holds a local Hub and a private Sigstore for test suites.
"""

from tinyrel.api import (
    attest,
    check,
    check_lock,
    diff,
    evals,
    init,
    init_example,
    lock_base,
    lock_release,
    lock_source,
    publish,
    pull,
    render_card,
    sign,
    validate,
    verify,
    write_manifest,
)
from tinyrel.findings import Finding, Interrupted, Refused, Report, TinyrelError

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it from here)

# Library logging: silent unless the host (or ``tinyrel --debug``) attaches a handler.
__import__("logging").getLogger("tinyrel").addHandler(__import__("logging").NullHandler())

__all__ = [
    "Finding",
    "Interrupted",
    "Refused",
    "Report",
    "SignerConfig",
    "TinyrelError",
    "VerifierConfig",
    "attest",
    "check",
    "check_lock",
    "diff",
    "evals",
    "init",
    "init_example",
    "lock_base",
    "lock_release",
    "lock_source",
    "publish",
    "pull",
    "render_card",
    "sign",
    "validate",
    "verify",
    "write_manifest",
]


def __getattr__(name: str):
    """``SignerConfig`` and ``VerifierConfig`` load their modules on first use (start-up stays fast)."""
    if name == "SignerConfig":
        from tinyrel.signing.sign import SignerConfig

        return SignerConfig
    if name == "VerifierConfig":
        from tinyrel.verifying.bundle import VerifierConfig

        return VerifierConfig
    raise AttributeError(f"module 'tinyrel' has no attribute {name!r}")
