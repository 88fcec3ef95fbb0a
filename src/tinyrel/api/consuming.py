"""The front door for a release's consumer: verify what was published, pull a verified copy, and
compare releases."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tinyrel.api._common import PathLike, directory, one_call
from tinyrel.findings import Refused, Report, TinyrelError

if TYPE_CHECKING:
    from tinyrel.verifying.bundle import VerifierConfig


@one_call
def verify(
    target: PathLike,
    trust: VerifierConfig,
    *,
    signature: PathLike | None = None,
    ignore: Sequence[str] = (),
    no_download: bool = False,
    require: Sequence[str] = (),
    plain_http: bool = False,
    base_dir: PathLike | None = None,
) -> Report:
    """Check a file, a directory, ``hf://org/name@rev`` or ``oci://HOST[:PORT]/PATH:TAG`` against its
    OMS signature (an OCI release's ``model.sig`` is the referrer attached to its manifest).

    The signature defaults to ``TARGET/model.sig`` (or the repo's ``model.sig`` on the Hub).
    ``require`` (``provenance``, ``evals``, ``gate``, ``sbom`` or ``all``) also checks the release's
    signed statements: each required one present, signed by the same signer, about the verified
    files; ``report.data["attestations"]`` lists every statement found.
    With ``base_dir`` (by default ``TARGET/base`` of a pulled adapter release) the base's files are
    checked against the pins the release signs.

    >>> trust = tinyrel.VerifierConfig(public_key=Path("publisher.pub"))
    >>> report = tinyrel.verify("hf://my-org/my-specialist@v0.1.0", trust, require=["all"])
    >>> report.data["verified"], report.data["commit"], report.data["attestations"]
    """
    from tinyrel.attesting.kinds import required_kinds

    target = str(target)
    trust.method  # noqa: B018 - the trust options are checked before anything else
    kinds = required_kinds(require)
    if target.startswith("hf://"):
        from tinyrel.verifying.hub import verify_hub

        if base_dir is not None:
            from tinyrel.verifying.base_pull import verify_hub_closure

            if kinds:
                raise TinyrelError("usage/require", "--require and --base-dir are not checked together yet: verify "
                                   "the attestations without --base-dir", usage=True)  # fmt: skip
            return verify_hub_closure(target, Path(signature) if signature else None, trust, ignore, no_download,
                                      directory(base_dir, "--base-dir"))  # fmt: skip
        return verify_hub(target, Path(signature) if signature else None, trust, ignore, no_download, require=kinds)
    if target.startswith("oci://"):  # OCI registries: tinyrel.verifying.oci
        from tinyrel.verifying.oci import verify_oci

        if kinds or base_dir is not None:
            raise TinyrelError("usage/oci-options", "--require and --base-dir are not checked for oci:// releases yet",
                               usage=True)  # fmt: skip
        return verify_oci(target, trust, Path(signature) if signature else None, ignore, no_download, plain_http)
    if plain_http:
        raise TinyrelError("usage/plain-http", "--plain-http applies to oci:// targets only", usage=True)
    if no_download:
        raise TinyrelError("usage/no-download", "--no-download applies to hf:// and oci:// targets only", usage=True)
    from tinyrel.release_files import SIGNATURE
    from tinyrel.verifying.local import verify_local

    root = Path(target).expanduser()
    if not root.exists():
        raise TinyrelError("usage/verify-target", "the target does not exist", usage=True, path=target)
    if signature is None and not (root.is_dir() and (root / SIGNATURE).is_file()):
        raise TinyrelError("usage/signature", "no model.sig in the target: pass a signature (--signature FILE)",
                           usage=True, path=target)  # fmt: skip
    bundle = Path(signature) if signature else root / SIGNATURE
    if not bundle.is_file():
        raise TinyrelError("usage/signature", "the signature does not exist", usage=True, path=str(bundle))
    if base_dir is not None or (root / "base").is_dir():  # a pulled adapter's base beside it: checked by its pins
        from tinyrel.verifying.base_pull import verify_local_closure

        base = directory(base_dir, "--base-dir") if base_dir is not None else None
        report = verify_local_closure(root, bundle, trust, ignore, base)
    else:
        report = verify_local(root, bundle, trust, ignore)
    if kinds:
        from tinyrel.verifying.attestations import check_attestations

        check_attestations(root, bundle, trust, kinds, report)
    return report


@one_call
def pull(
    uri: str,
    trust: VerifierConfig,
    local_dir: PathLike | None = None,
    *,
    revision: str | None = None,
    require: Sequence[str] = (),
    plain_http: bool = False,
    base_dir: PathLike | None = None,
) -> Path:
    """A verified local copy of a signed Hub release (or ``oci://HOST[:PORT]/PATH:TAG``), or ``Refused``
    (its ``report`` says why, and nothing was written): signature first, then the Hub's listing (the
    manifest's layers), then every byte, and only then are the files made visible at ``local_dir``.
    ``require`` names the signed statements the release must carry (as for ``verify``).  An adapter
    release brings its base, fetched at the commit the release signs and checked file by file
    against the signed pins, into ``local_dir/base`` (or ``base_dir``; ``base_dir`` also fetches a
    fine-tune's pinned base).

    >>> path = tinyrel.pull("hf://my-org/my-specialist@v0.1.0", trust, "models/my-specialist")
    >>> model, tokenizer = mlx_lm.load(str(path))
    >>> adapter = tinyrel.pull("hf://my-org/my-adapter@v0.1.0", trust, "models/my-adapter")
    >>> model, tokenizer = mlx_lm.load(str(adapter / "base"), adapter_path=str(adapter))
    """
    from tinyrel.attesting.kinds import required_kinds
    from tinyrel.verifying.pull import pull as pull_verified

    trust.method  # noqa: B018 - the trust options are checked before anything else
    kinds = required_kinds(require)
    if uri.startswith("oci://"):  # OCI registries: tinyrel.verifying.oci
        from tinyrel.verifying.oci import pull_oci

        if revision is not None:
            raise TinyrelError("usage/revision", "an oci:// reference names its tag or digest itself; drop --revision",
                               usage=True)  # fmt: skip
        if kinds or base_dir is not None:
            raise TinyrelError("usage/oci-options", "--require and --base-dir are not checked for oci:// releases yet",
                               usage=True)  # fmt: skip
        report = pull_oci(uri, trust, Path(local_dir) if local_dir else None, plain_http)
    elif plain_http:
        raise TinyrelError("usage/plain-http", "--plain-http applies to oci:// references only", usage=True)
    else:
        report = pull_verified(uri, trust, Path(local_dir) if local_dir else None, revision=revision, require=kinds,
                               base_dir=Path(base_dir).expanduser() if base_dir else None)  # fmt: skip
    if not report.ok:
        first = report.errors[0]
        raise Refused("pull/not-verified", f"{first.code}: {first.message}; nothing was written", report,
                      path=first.path)  # fmt: skip
    pulled = PulledPath(report.data["path"])
    pulled.report = report
    return pulled


class PulledPath(type(Path())):  # type: ignore[misc]
    """The pulled directory — a ``Path`` — carrying the verification ``report`` that let it in
    (what was verified, how, at which commit)."""

    report: Report | None = None


@one_call
def diff(a: PathLike, b: PathLike, *, trust: VerifierConfig | None = None) -> Report:
    """Tensors added, removed and changed between two manifests, model directories or ``hf://``
    releases (an ``hf://`` release through its ``manifest.json``, checked against the repo's files
    and, with ``trust``, against its signature).  An operand that cannot be compared is a usage error.

    >>> report = tinyrel.diff("hf://my-org/my-specialist@v0.1.0", "manifests/my-specialist.json")
    >>> report.data["identical"], report.data["summary"]["text"]
    """
    from tinyrel.diffing.compare import diff_report
    from tinyrel.diffing.sides import load_side
    from tinyrel.findings import Finding

    notes: list[Finding] = []
    try:
        sides = load_side(str(a), trust, notes), load_side(str(b), trust, notes)
    except TinyrelError as exc:  # an operand that cannot be compared: exit 2, never "they differ"
        exc.usage = True
        raise
    report = diff_report(*sides, str(a), str(b))
    report.findings[:0] = notes
    report.data["values_compared"] = not any(n.code == "diff/headers-only" for n in notes)
    from tinyrel.diffing.encoding import encoding_report

    encoding = encoding_report(*sides)  # per-tensor dtype, bits and group size, when a side is quantized
    if encoding is not None:
        report.data["encoding"], found = encoding
        report.findings += found
    return report
