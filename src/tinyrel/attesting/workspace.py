"""``tinyrel attest``: a workspace's signed statements, written without publishing (a CI step).

The gate runs exactly as ``tinyrel check`` runs it; its decision — PASSED or FAILED — is what the
gate statement says, so a failing gate is attested too (and the command still exits 1).  The card
the statements name as a subject is the one that gate checked: it is written beside them
(``README.md``), so every subject can be checked against a file.  The spec is named by its
workspace path (``release/NAME.toml``), the records by their release paths (``evals/...``).

``--out DIR`` must be absent, empty, or an earlier ``attest`` output (a ``README.md`` and an
``attestations/`` directory, nothing else); it is replaced in one rename, so a failure leaves the
previous output as it was.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tinyrel.findings import Report, TinyrelError
from tinyrel.release_files import ATTESTATIONS_DIR, CARD
from tinyrel.workspace.layout import Workspace
from tinyrel.workspace.spec import ReleaseSpec


def _refuse(out: Path, why: str) -> TinyrelError:
    return TinyrelError("attest/out-dir", f"refusing --out {out}: {why}; nothing was touched", usage=True)


def check_attest_dir(ws: Workspace, out: Path) -> Path:
    """The absolute output directory, once replacing it can destroy nothing but an earlier output."""
    from tinyrel.atomic import replaceable_dir

    target, names = replaceable_dir(out, ws.root, _refuse, "the statements")
    if names is None:
        return target
    foreign = sorted(names - {CARD, ATTESTATIONS_DIR})
    if foreign:
        raise _refuse(out, f"it holds files tinyrel attest did not write ({', '.join(foreign[:5])})")
    card, folder = target / CARD, target / ATTESTATIONS_DIR
    card_ok = CARD not in names or (card.is_file() and not card.is_symlink())
    folder_ok = ATTESTATIONS_DIR not in names or (folder.is_dir() and not folder.is_symlink() and all(
        p.is_file() and not p.is_symlink() for p in folder.iterdir()))  # fmt: skip
    if not (card_ok and folder_ok):
        raise _refuse(out, "it is not an earlier tinyrel attest output")
    return target


def attest_workspace(ws: Workspace, spec: ReleaseSpec, out: Path, signer) -> Report:
    """Gate, build, sign and write the statements (with the card they name) into ``out``."""
    from tinyrel.atomic import staged_directory
    from tinyrel.attesting.build import build_attestations
    from tinyrel.card.render import ReleaseFacts
    from tinyrel.policy.gate import run_gate

    target = check_attest_dir(ws, out)
    signer.check()
    result = run_gate(ws, spec, facts=ReleaseFacts(signing=signer.method))
    card = result.card.encode("utf-8")
    spec_file = result.context.rel(spec.path)
    digests = {CARD: hashlib.sha256(card).hexdigest(), spec_file: hashlib.sha256(spec.path.read_bytes()).hexdigest()}
    for evidence in result.context.evidence.values():
        for workspace_path, release_path in evidence.release_files():
            source = ws.root / workspace_path
            if source.is_file():
                digests[release_path] = hashlib.sha256(source.read_bytes()).hexdigest()
    built = build_attestations(result, digests, spec_file)
    files = {CARD: card, **built.sign(signer)}
    with staged_directory(target) as stage:
        for rel, data in sorted(files.items()):
            path = stage / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    report = result.report
    report.data.update({"out": str(out), "files": sorted(files), "attestations": built.summary,
                        "signing": signer.method})  # fmt: skip
    return report
