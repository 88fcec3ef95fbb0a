"""The front door for a release's author: validate weights, write manifests, pin sources in the
lock, scaffold a workspace, run the gate and attest it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tinyrel.api._common import PathLike, directory, one_call, workspace_at
from tinyrel.findings import Refused, Report, TinyrelError

if TYPE_CHECKING:
    from tinyrel.policy.gate import GateResult
    from tinyrel.signing.sign import SignerConfig
    from tinyrel.sources.resolve import LockedSource


@one_call
def validate(
    model_dir: PathLike,
    *,
    manifest: PathLike | None = None,
    quick: bool = False,
    full_sha256: bool = False,
    against_mlx_lm: bool = False,
) -> Report:
    """Check an MLX safetensors directory (framing, index, MLX rules, NaN/Inf, hygiene) in one read.

    >>> report = tinyrel.validate("~/models/my-specialist", manifest="manifests/my-specialist.json")
    >>> report.ok, [f.code for f in report.errors]
    """
    from tinyrel.weights import manifest as mf
    from tinyrel.weights.validate import inspect_weights

    root = directory(model_dir)
    if against_mlx_lm and (root / "adapter_config.json").is_file() and not (root / "config.json").exists():
        raise TinyrelError("usage/mlx-lm-adapter", "--mlx-lm builds mlx-lm's model class from config.json, which an "
                           "adapter has not: tinyrel check compares its modules with its base (base-model)",
                           usage=True)  # fmt: skip
    expected = mf.load(Path(manifest).expanduser()) if manifest else None
    inspection = inspect_weights(root, expected=expected, quick=quick, full_sha256=full_sha256)
    if against_mlx_lm:
        from tinyrel.weights.mlx_lm_check import check_against_mlx_lm

        check_against_mlx_lm(inspection.model, inspection.report)
    return inspection.report


@one_call
def write_manifest(model_dir: PathLike, output: PathLike | None = None) -> Report:
    """Validate ``model_dir`` and build its manifest (written atomically to ``output`` if given):
    ``report.data["manifest"]``.  Weights that do not validate raise ``Refused`` with the report.

    >>> report = tinyrel.write_manifest("~/models/my-specialist", "manifests/my-specialist.json")
    >>> report.data["manifest"]["totals"]["parameters"]
    """
    from tinyrel.weights import manifest as mf
    from tinyrel.weights.validate import inspect_weights

    inspection = inspect_weights(directory(model_dir), build_manifest=True)
    report = inspection.report
    if inspection.manifest is None:
        report.error("manifest/not-written", "validation failed; no manifest written")
        raise Refused("manifest/not-written", "the weights did not validate; no manifest written", report)
    if output is not None:
        mf.write(inspection.manifest, Path(output))
        report.data["written"] = str(output)
    report.data["manifest"] = inspection.manifest
    return report


@one_call
def lock_source(
    source: str, name: str | None = None, *, lock_file: PathLike | None = None, base: PathLike | None = None
) -> tuple[LockedSource, Report]:
    """Resolve a source (directory, cache snapshot, ``hf-cache://``, ``hf://``) to pinned files.

    With ``lock_file`` the entry is written into that lock (other entries are left byte for byte,
    the entry's eval-record pins are kept); ``name`` defaults to the workspace's only release (else
    ``weights``).  A malformed lock is refused before any work and never overwritten.

    >>> entry, report = tinyrel.lock_source("hf://my-org/my-specialist@v0.1.0", "my-specialist")
    >>> entry.revision, entry.public, len(entry.files)
    """
    from tinyrel.atomic import check_output_target
    from tinyrel.scaffold.init import check_name
    from tinyrel.sources.lock import lock_source as resolve_entry
    from tinyrel.sources.lock import read_lock, update_lock

    lock = Path(lock_file) if lock_file is not None else None
    name = name or (_default_entry_name(lock) if lock is not None else "weights")
    check_name(name)
    if lock is not None:
        check_output_target(lock, "lock")
        if lock.exists():
            read_lock(lock)
    root = Path(base) if base is not None else lock.parent if lock is not None else Path.cwd()
    entry, report = resolve_entry(source, name, base=root.resolve())
    if lock is not None and report.ok:
        update_lock(lock, entry)
    return entry, report


@one_call
def lock_release(workspace: PathLike = ".", release: str | None = None) -> Report:
    """Re-pin every source a release spec names — its weights and each ``[[variants]]`` entry's — into
    the workspace lock (entries ``NAME`` and ``NAME.<id>``; pinned records kept; an entry already
    pinned to a commit on the Hub is kept).

    >>> tinyrel.lock_release("my-release").data["locked"]
    """
    from tinyrel.policy.variant_lock import lock_tree

    try:
        ws = workspace_at(workspace)
    except TinyrelError as exc:
        if exc.code != "workspace/not-found":
            raise
        raise TinyrelError("usage/missing-source", "give a SOURCE to lock (without one, lock re-pins the sources of a "
                           "workspace's release spec), or --check", usage=True) from None  # fmt: skip
    return lock_tree(ws, ws.spec(release))


def _default_entry_name(lock_file: Path) -> str:
    """The entry a lock in a workspace belongs to: its only release (``tinyrel.lock`` holds one entry
    per release, named after it), so re-locking re-pins that release instead of adding a stray
    ``weights`` entry the gate never reads.  Outside a workspace: ``weights``."""
    from tinyrel.workspace.layout import Workspace

    releases = Workspace(lock_file.parent).releases()
    if len(releases) > 1:
        raise TinyrelError("usage/name", f"the workspace has releases {releases}; say which with --name", usage=True)
    return releases[0] if releases else "weights"


@one_call
def lock_base(workspace: PathLike = ".", release: str | None = None) -> tuple[LockedSource, Report]:
    """Pin the release's base (its spec's ``[base] source``) in the workspace lock, as the entry
    ``<release>.base``: an ``hf://`` source resolved to a commit, every file by size and SHA-256 from
    the Hub's metadata (no weight is downloaded).  Other entries are left byte for byte.

    >>> entry, report = tinyrel.lock_base("my-release")
    >>> entry.revision, len(entry.files)
    """
    from tinyrel.atomic import check_output_target
    from tinyrel.policy.base_pin import pin_base

    ws = workspace_at(workspace)
    check_output_target(ws.lock_path, "lock")
    return pin_base(ws.spec(release), ws.lock_path)


@one_call
def check_lock(lock_file: PathLike = "tinyrel.lock") -> Report:
    """Whether every entry of a lock still matches what it points to (``lock/stale`` findings).

    >>> tinyrel.check_lock("my-release/tinyrel.lock").ok
    """
    from tinyrel.sources.lock import check_lock as check

    path = Path(lock_file)
    return check(path, base=path.parent.resolve())


@one_call
def init(weights: str, *, name: str, base_model: str, directory: PathLike = ".") -> Report:
    """Scaffold a release workspace for real weights (a directory, a cache snapshot or
    ``hf-cache://ORG/NAME[@REV]``; a model or an mlx-lm adapter directory): spec, lock, manifest,
    CHANGELOG entry, card template.  ``base_model`` is the base's Hub id ``ORG/NAME`` (the spec names
    ``hf://ORG/NAME@main``; ``lock_base`` pins it), or ``hf://ORG/NAME@REV``, ``hf-cache://…`` or a
    directory, pinned in the lock now (always so for an adapter).  Refuses to overwrite anything; a
    failed or interrupted init removes what it created.

    >>> tinyrel.init("~/models/my-specialist", name="my-specialist", base_model="Qwen/Qwen3-4B", directory="rel")
    """
    from tinyrel.scaffold.init import init_real

    if not weights or not name or not base_model:
        raise TinyrelError("usage/init", "give WEIGHTS --name NAME --base-model ID, or --example DIR", usage=True)
    return init_real(weights, name, base_model, Path(directory))


@one_call
def init_example(directory: PathLike) -> Report:
    """The seed release as a workspace, with stand-in weights in a local HF-cache layout, in
    ``directory`` (which must be absent or empty).

    >>> tinyrel.init_example("demo").ok
    """
    from tinyrel.scaffold.init import init_example as scaffold

    return scaffold(Path(directory))


@one_call
def check(
    workspace: PathLike = ".", release: str | None = None, *, offline: bool = False, require_weights: bool = False
) -> GateResult:
    """Run the release gate: lock → weights → manifest → blockers → card.

    >>> result = tinyrel.check("my-release")
    >>> result.report.ok, [(b["id"], b["status"]) for b in result.blockers]
    """
    from tinyrel.policy.gate import run_gate

    ws = workspace_at(workspace)
    return run_gate(ws, ws.spec(release), offline=offline, require_weights=require_weights)


def render_card(workspace: PathLike = ".", release: str | None = None, *, offline: bool = True) -> str:
    """The model card exactly as the gate checks it (a preview: nothing is published).

    >>> print(tinyrel.render_card("my-release"))
    """
    return check(workspace, release, offline=offline).card


@one_call
def evals(workspace: PathLike = ".", release: str | None = None, *, pin: bool = False) -> Report:
    """Every eval's numbers recomputed from its per-item records: score, n, Wilson 95% interval and,
    with stock and tuned records on the same items, the paired regression (exact sign test per item:
    McNemar's exact test for pass/fail records).  ``pin`` writes the records' sizes and SHA-256 into
    the release's lock entry.

    >>> report = tinyrel.evals("my-release")
    >>> [(e["id"], e["tuned"]["score"], e["paired"]) for e in report.data["evals"]]
    """
    from tinyrel.policy.evals_report import evals_report

    ws = workspace_at(workspace)
    report = evals_report(ws, ws.spec(release), pin=pin)
    report.data["lock"] = ws.lock_path.name
    return report


@one_call
def attest(workspace: PathLike = ".", release: str | None = None, *, out: PathLike, signer: SignerConfig) -> Report:
    """Run the gate as ``check`` does, then write the release's signed in-toto statements — SLSA
    provenance, one test result per eval with records, the gate decision (a SLSA verification
    summary), the CycloneDX ML-BOM — with the card they name, into ``out``, without publishing.
    ``out`` must be absent, empty or an earlier ``attest`` output.  A failing gate is attested as
    FAILED (and the report is not ok).

    >>> report = tinyrel.attest("my-release", out="attested", signer=signer)
    >>> [(a["kind"], a.get("result")) for a in report.data["attestations"]]
    """
    from tinyrel.attesting.workspace import attest_workspace


    if signer is None:
        raise TinyrelError("usage/attest-signer", "attest signs its statements: give a signer (--private-key PEM, "
                           "--signing-certificate, or --sigstore)", usage=True)  # fmt: skip
    signer.check()
    ws = workspace_at(workspace)
    return attest_workspace(ws, ws.spec(release), Path(out), signer)
