"""tinyrel's Python API: every CLI command is a thin wrapper over one of these functions.

They return data — ``Report`` (findings plus ``data``), ``GateResult``, ``PublishResult``, a
manifest ``dict`` — and raise ``TinyrelError`` (with a stable ``code``) when they cannot run at
all.  Nothing here prints; the command layer turns results into text.  Heavy modules (numpy, the
Hub client, Jinja2) load only when a function that needs them is called.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tinyrel.findings import Report, TinyrelError

if TYPE_CHECKING:
    from tinyrel.policy.gate import GateResult
    from tinyrel.publishing.release import PublishResult
    from tinyrel.signing.sign import SignerConfig
    from tinyrel.sources.resolve import LockedSource
    from tinyrel.verifying.bundle import VerifierConfig

PathLike = str | os.PathLike[str]
F = TypeVar("F", bound=Callable[..., Any])


def _one_call(function: F) -> F:
    """Run an API function in its own ``HubSession``: whatever it changes in huggingface_hub to
    reach the Hub is put back when it returns (or raises)."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        from tinyrel.hub.session import HubSession

        with HubSession():
            return function(*args, **kwargs)

    return call  # type: ignore[return-value]


@_one_call
def validate(
    model_dir: PathLike, *, manifest: PathLike | None = None, quick: bool = False, against_mlx_lm: bool = False
) -> Report:
    """Check an MLX safetensors directory (framing, index, MLX rules, NaN/Inf, hygiene) in one read.

    >>> report = tinyrel.validate("~/models/my-specialist", manifest="manifests/my-specialist.json")
    >>> report.ok, [f.code for f in report.errors]
    """
    from tinyrel.weights import manifest as mf
    from tinyrel.weights.validate import inspect_weights

    expected = mf.load(Path(manifest).expanduser()) if manifest else None
    inspection = inspect_weights(Path(model_dir).expanduser(), expected=expected, quick=quick, progress=False)
    if against_mlx_lm:
        from tinyrel.weights.mlx_lm_check import check_against_mlx_lm

        check_against_mlx_lm(inspection.model, inspection.report)
    return inspection.report


@_one_call
def write_manifest(model_dir: PathLike, output: PathLike | None = None) -> dict[str, Any]:
    """Validate ``model_dir`` and return its manifest (written atomically to ``output`` if given).

    >>> manifest = tinyrel.write_manifest("~/models/my-specialist", "manifests/my-specialist.json")
    >>> manifest["totals"]["parameters"]
    """
    from tinyrel.weights import manifest as mf
    from tinyrel.weights.validate import inspect_weights

    inspection = inspect_weights(Path(model_dir).expanduser(), build_manifest=True, progress=False)
    if inspection.manifest is None:
        first = inspection.report.errors[0]
        raise TinyrelError("manifest/not-written", f"validation failed: {first.code}: {first.message}", path=first.path)
    if output is not None:
        mf.write(inspection.manifest, Path(output))
    return inspection.manifest


@_one_call
def lock_source(
    source: str, name: str = "weights", *, lock_file: PathLike | None = None, base: PathLike | None = None
) -> tuple[LockedSource, Report]:
    """Resolve a source (directory, cache snapshot, ``hf-cache://``, ``hf://``) to pinned files.

    With ``lock_file`` the entry is written into that lock (other entries are left byte for byte).

    >>> entry, report = tinyrel.lock_source("hf://my-org/my-specialist@v0.1.0", "my-specialist")
    >>> entry.revision, entry.public, len(entry.files)
    """
    from tinyrel.sources.lock import lock_source as resolve_entry
    from tinyrel.sources.lock import update_lock

    root = Path(base) if base is not None else Path(lock_file).parent if lock_file else Path.cwd()
    entry, report = resolve_entry(source, name, base=root.resolve())
    if lock_file is not None and report.ok:
        update_lock(Path(lock_file), entry)
    return entry, report


def _workspace(workspace: PathLike):
    from tinyrel.workspace.layout import find_workspace

    return find_workspace(Path(workspace).expanduser())


@_one_call
def check(
    workspace: PathLike = ".", release: str | None = None, *, offline: bool = False, require_weights: bool = False
) -> GateResult:
    """Run the release gate: lock → weights → manifest → blockers → card.

    >>> result = tinyrel.check("my-release")
    >>> result.report.ok, [(b["id"], b["status"]) for b in result.blockers]
    """
    from tinyrel.policy.gate import run_gate

    ws = _workspace(workspace)
    return run_gate(ws, ws.spec(release), offline=offline, require_weights=require_weights)


@_one_call
def render_card(workspace: PathLike = ".", release: str | None = None, *, offline: bool = True) -> str:
    """The model card exactly as the gate checks it (a preview: nothing is published).

    >>> print(tinyrel.render_card("my-release"))
    """
    return check(workspace, release, offline=offline).card


@_one_call
def evals(workspace: PathLike = ".", release: str | None = None, *, pin: bool = False) -> Report:
    """Every eval's numbers recomputed from its per-item records: score, n, Wilson 95% interval and,
    with stock and tuned records on the same items, the paired regression (exact sign test per item:
    McNemar's exact test for pass/fail records).

    >>> report = tinyrel.evals("my-release")
    >>> [(e["id"], e["tuned"]["score"], e["paired"]) for e in report.data["evals"]]
    """
    from tinyrel.policy.evals_report import evals_report

    ws = _workspace(workspace)
    return evals_report(ws, ws.spec(release), pin=pin)


@_one_call
def sign(
    model_path: PathLike,
    signature: PathLike,
    signer: SignerConfig,
    *,
    ignore: Sequence[PathLike] = (),
    shard_size: int | None = None,
) -> Report:
    """Write an OpenSSF Model Signing (OMS v1.0) bundle for a file or directory.

    >>> signer = tinyrel.SignerConfig(method="key", private_key=Path("~/.keys/release.pem").expanduser())
    >>> tinyrel.sign("~/models/my-specialist", "model.sig", signer).ok
    """
    from tinyrel.signing.sign import sign_model

    return sign_model(Path(model_path).expanduser(), Path(signature), signer, list(ignore), shard_size=shard_size)


@_one_call
def verify(
    target: PathLike,
    trust: VerifierConfig,
    *,
    signature: PathLike | None = None,
    ignore: Sequence[str] = (),
    no_download: bool = False,
) -> Report:
    """Check a file, a directory or ``hf://org/name@rev`` against its OMS signature.

    The signature defaults to ``TARGET/model.sig`` (or the repo's ``model.sig`` on the Hub).

    >>> trust = tinyrel.VerifierConfig(public_key=Path("publisher.pub"))
    >>> report = tinyrel.verify("hf://my-org/my-specialist@v0.1.0", trust)
    >>> report.data["verified"], report.data["commit"]
    """
    target = str(target)
    if target.startswith("hf://"):
        from tinyrel.verifying.hub import verify_hub

        return verify_hub(target, Path(signature) if signature else None, trust, ignore, no_download)
    from tinyrel.release_files import SIGNATURE
    from tinyrel.verifying.local import verify_local

    root = Path(target).expanduser()
    if not root.exists():
        raise TinyrelError("usage/verify-target", "the target does not exist", usage=True, path=target)
    bundle = Path(signature) if signature else root / SIGNATURE
    if not bundle.is_file():
        raise TinyrelError("usage/signature", "no signature: pass signature=", usage=True, path=str(bundle))
    return verify_local(root, bundle, trust, ignore)


@_one_call
def pull(uri: str, trust: VerifierConfig, local_dir: PathLike | None = None, *, revision: str | None = None) -> Path:
    """A verified local copy of a signed Hub release, or an error: signature first, then the Hub's
    listing, then every byte, and only then are the files made visible at ``local_dir``.

    >>> path = tinyrel.pull("hf://my-org/my-specialist@v0.1.0", trust, "models/my-specialist")
    >>> model, tokenizer = mlx_lm.load(str(path))
    """
    from tinyrel.verifying.pull import pull as pull_verified

    report = pull_verified(uri, trust, Path(local_dir) if local_dir else None, revision=revision)
    if not report.ok:
        first = report.errors[0]
        raise TinyrelError("pull/not-verified", f"{first.code}: {first.message}; nothing was written", path=first.path)
    return Path(report.data["path"])


@_one_call
def publish(
    workspace: PathLike = ".",
    release: str | None = None,
    *,
    mode: str | None = None,
    out: PathLike | None = None,
    repo_id: str | None = None,
    signer: SignerConfig | None = None,
    private: bool = False,
    dry_run: bool = False,
    allow: dict[str, str] | None = None,
    allow_other_repo: bool = False,
) -> PublishResult:
    """Gate, then emit the release: metadata-only into ``out``, or (without ``out``) to the Hub as
    one signed commit tagged ``v<version>``.  ``mode`` and ``repo_id`` default to the spec's
    ``[distribution]``; one that contradicts it is refused unless ``allow_other_repo`` says another
    repo is meant.  ``allow`` maps blocker ids to the reason printed on the card.

    >>> result = tinyrel.publish("my-release", signer=signer)  # to the spec's repo, in the spec's mode
    >>> result.report.ok, result.report.data["commit"]
    """
    ws = _workspace(workspace)
    spec = ws.spec(release)
    if out is None:
        from tinyrel.publishing.hosted import publish_to_hub

        return publish_to_hub(ws, spec, mode=mode, repo_id=repo_id, signer=signer, private=private, dry_run=dry_run,
                              overrides=allow, allow_other_repo=allow_other_repo)  # fmt: skip
    if repo_id is not None or mode == "weights" or dry_run or private or allow_other_repo:
        raise TinyrelError("usage/destination", "a local release (out=DIR) is metadata-only: repo_id, "
                           "mode='weights', dry_run, private and allow_other_repo apply to Hub releases", usage=True)
    from tinyrel.publishing.local import publish_metadata

    return publish_metadata(ws, spec, Path(out), allow, signer)


@_one_call
def diff(a: PathLike, b: PathLike) -> Report:
    """Tensors added, removed and changed between two manifests, model directories or ``hf://`` releases.

    >>> report = tinyrel.diff("hf://my-org/my-specialist@v0.1.0", "manifests/my-specialist.json")
    >>> report.data["identical"], report.data["summary"]["text"]
    """
    from tinyrel.diffing.compare import diff_report
    from tinyrel.diffing.sides import load_side

    return diff_report(load_side(str(a)), load_side(str(b)), str(a), str(b))
