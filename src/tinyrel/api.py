"""tinyrel's Python API — the front door.  Every CLI command parses its options, calls one of these
functions and renders what it returns; nothing is checked or decided twice.

They return data — ``Report`` (findings plus ``data``), ``GateResult``, ``PublishResult`` — and raise
``TinyrelError`` (with a stable ``code``, the same the CLI prints) when they cannot run at all, or
``Refused`` (a ``TinyrelError`` carrying the ``report``) when they ran and the answer is no.  Each
call runs in its own ``HubSession``: huggingface_hub is left as the caller had it.  Nothing here
prints.  Heavy modules (numpy, the Hub client, Jinja2) load only when a function needs them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tinyrel.findings import Refused, Report, TinyrelError

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


def _directory(path: PathLike, what: str = "the model directory") -> Path:
    found = Path(path).expanduser()
    if not found.is_dir():
        raise TinyrelError("usage/not-a-directory", f"{what} does not exist or is not a directory", usage=True,
                           path=str(path))  # fmt: skip
    return found


def _workspace(workspace: PathLike):
    from tinyrel.workspace.layout import find_workspace

    return find_workspace(Path(workspace).expanduser())


@_one_call
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

    root = _directory(model_dir)
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


@_one_call
def write_manifest(model_dir: PathLike, output: PathLike | None = None) -> Report:
    """Validate ``model_dir`` and build its manifest (written atomically to ``output`` if given):
    ``report.data["manifest"]``.  Weights that do not validate raise ``Refused`` with the report.

    >>> report = tinyrel.write_manifest("~/models/my-specialist", "manifests/my-specialist.json")
    >>> report.data["manifest"]["totals"]["parameters"]
    """
    from tinyrel.weights import manifest as mf
    from tinyrel.weights.validate import inspect_weights

    inspection = inspect_weights(_directory(model_dir), build_manifest=True)
    report = inspection.report
    if inspection.manifest is None:
        report.error("manifest/not-written", "validation failed; no manifest written")
        raise Refused("manifest/not-written", "the weights did not validate; no manifest written", report)
    if output is not None:
        mf.write(inspection.manifest, Path(output))
        report.data["written"] = str(output)
    report.data["manifest"] = inspection.manifest
    return report


@_one_call
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


@_one_call
def lock_release(workspace: PathLike = ".", release: str | None = None) -> Report:
    """Re-pin every source a release spec names — its weights and each ``[[variants]]`` entry's — into
    the workspace lock (entries ``NAME`` and ``NAME.<id>``; pinned records kept; an entry already
    pinned to a commit on the Hub is kept).

    >>> tinyrel.lock_release("my-release").data["locked"]
    """
    from tinyrel.policy.variant_lock import lock_tree

    try:
        ws = _workspace(workspace)
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


@_one_call
def lock_base(workspace: PathLike = ".", release: str | None = None) -> tuple[LockedSource, Report]:
    """Pin the release's base (its spec's ``[base] source``) in the workspace lock, as the entry
    ``<release>.base``: an ``hf://`` source resolved to a commit, every file by size and SHA-256 from
    the Hub's metadata (no weight is downloaded).  Other entries are left byte for byte.

    >>> entry, report = tinyrel.lock_base("my-release")
    >>> entry.revision, len(entry.files)
    """
    from tinyrel.atomic import check_output_target
    from tinyrel.policy.base_pin import pin_base

    ws = _workspace(workspace)
    check_output_target(ws.lock_path, "lock")
    return pin_base(ws.spec(release), ws.lock_path)


@_one_call
def check_lock(lock_file: PathLike = "tinyrel.lock") -> Report:
    """Whether every entry of a lock still matches what it points to (``lock/stale`` findings).

    >>> tinyrel.check_lock("my-release/tinyrel.lock").ok
    """
    from tinyrel.sources.lock import check_lock as check

    path = Path(lock_file)
    return check(path, base=path.parent.resolve())


@_one_call
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


@_one_call
def init_example(directory: PathLike) -> Report:
    """The seed release as a workspace, with stand-in weights in a local HF-cache layout, in
    ``directory`` (which must be absent or empty).

    >>> tinyrel.init_example("demo").ok
    """
    from tinyrel.scaffold.init import init_example as scaffold

    return scaffold(Path(directory))


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


def render_card(workspace: PathLike = ".", release: str | None = None, *, offline: bool = True) -> str:
    """The model card exactly as the gate checks it (a preview: nothing is published).

    >>> print(tinyrel.render_card("my-release"))
    """
    return check(workspace, release, offline=offline).card


@_one_call
def evals(workspace: PathLike = ".", release: str | None = None, *, pin: bool = False) -> Report:
    """Every eval's numbers recomputed from its per-item records: score, n, Wilson 95% interval and,
    with stock and tuned records on the same items, the paired regression (exact sign test per item:
    McNemar's exact test for pass/fail records).  ``pin`` writes the records' sizes and SHA-256 into
    the release's lock entry.

    >>> report = tinyrel.evals("my-release")
    >>> [(e["id"], e["tuned"]["score"], e["paired"]) for e in report.data["evals"]]
    """
    from tinyrel.policy.evals_report import evals_report

    ws = _workspace(workspace)
    report = evals_report(ws, ws.spec(release), pin=pin)
    report.data["lock"] = ws.lock_path.name
    return report


@_one_call
def sign(
    model_path: PathLike,
    signature: PathLike,
    signer: SignerConfig,
    *,
    ignore: Sequence[PathLike] = (),
    shard_size: int | None = None,
) -> Report:
    """Write an OpenSSF Model Signing (OMS v1.0) bundle for a model file or directory.

    >>> signer = tinyrel.SignerConfig(method="key", private_key=Path("~/.keys/release.pem").expanduser())
    >>> tinyrel.sign("~/models/my-specialist", "model.sig", signer).ok
    """
    from tinyrel.signing.sign import sign_model

    target = Path(model_path).expanduser()
    if not target.exists():
        raise TinyrelError("usage/sign-target", "the model path does not exist", usage=True, path=str(model_path))
    return sign_model(target, Path(signature), signer, [Path(p) for p in ignore], shard_size=shard_size)


@_one_call
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
                                      _directory(base_dir, "--base-dir"))  # fmt: skip
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

        base = _directory(base_dir, "--base-dir") if base_dir is not None else None
        report = verify_local_closure(root, bundle, trust, ignore, base)
    else:
        report = verify_local(root, bundle, trust, ignore)
    if kinds:
        from tinyrel.verifying.attestations import check_attestations

        check_attestations(root, bundle, trust, kinds, report)
    return report


@_one_call
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
    oci_repo: str | None = None,
    plain_http: bool = False,
    variant: str | None = None,
) -> PublishResult:
    """Gate, then emit the release: metadata-only into ``out``, to an OCI registry (``oci_repo``:
    ``HOST[:PORT]/PATH``) as a ModelPack artifact tagged ``v<version>``, or (without either) to the Hub
    as one signed commit tagged ``v<version>``.  ``mode`` and ``repo_id`` default to the spec's
    ``[distribution]``; one that contradicts it is refused unless ``allow_other_repo`` says another
    repo is meant.  ``allow`` maps blocker ids to the reason printed on the card.  In weights mode
    each ``[[variants]]`` entry is published too, as its own repo (``report.data["variants"]``);
    ``variant`` publishes that one alone, once the release itself is on the Hub.

    >>> result = tinyrel.publish("my-release", signer=signer)  # to the spec's repo, in the spec's mode
    >>> result.report.ok, result.report.data["commit"]
    """
    if allow and not all(str(reason).strip() for reason in allow.values()):
        raise TinyrelError("usage/reason-required", "an allowed blocker needs a reason (--reason TEXT): it is "
                           "printed on the card", usage=True)  # fmt: skip
    if out is not None and (repo_id is not None or mode == "weights" or dry_run or private or allow_other_repo
                            or variant is not None):  # fmt: skip
        raise TinyrelError("usage/destination", "a local release (--out DIR) is metadata-only: --repo-id, --mode "
                           "weights, --dry-run, --private, --allow-other-repo and --variant apply to Hub releases",
                           usage=True)  # fmt: skip
    if oci_repo is not None and (out is not None or repo_id is not None or private or allow_other_repo
                                 or variant is not None):  # fmt: skip
        raise TinyrelError("usage/destination", "--oci-repo publishes to an OCI registry: --out, --repo-id, --private, "
                           "--allow-other-repo and --variant apply to other destinations", usage=True)  # fmt: skip
    if plain_http and oci_repo is None:
        raise TinyrelError("usage/plain-http", "--plain-http applies to --oci-repo", usage=True)
    ws = _workspace(workspace)
    spec = ws.spec(release)
    if oci_repo is not None:  # OCI registries: tinyrel.publishing.oci
        from tinyrel.publishing.oci import publish_to_oci

        return publish_to_oci(ws, spec, oci_repo=oci_repo, plain_http=plain_http, mode=mode, signer=signer,
                              dry_run=dry_run, overrides=allow)  # fmt: skip
    if out is None:
        from tinyrel.publishing.tree import publish_tree

        return publish_tree(ws, spec, mode=mode, repo_id=repo_id, signer=signer, private=private, dry_run=dry_run,
                            overrides=allow, allow_other_repo=allow_other_repo, variant=variant)  # fmt: skip
    from tinyrel.publishing.local import publish_metadata

    return publish_metadata(ws, spec, Path(out), allow, signer)


@_one_call
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
    ws = _workspace(workspace)
    return attest_workspace(ws, ws.spec(release), Path(out), signer)


@_one_call
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
