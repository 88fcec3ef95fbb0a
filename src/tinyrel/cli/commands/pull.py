"""``tinyrel pull hf://ORG/NAME[@REV] --public-key PEM [--local-dir DIR]``: a verified copy or nothing."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel import api
from tinyrel.cli.commands.verify import require_option, statements_text, trust_options
from tinyrel.cli.common import Outcome, output_options, report_command
from tinyrel.findings import Refused


@click.command("pull")
@click.argument("target")
@click.option("--revision", help="Revision (tag, branch or commit), as with `hf download`.")
@click.option(
    "--local-dir",
    type=click.Path(path_type=Path),
    help="Where the verified files go (default: ./NAME). Must be absent or empty.",
)
@click.option("--plain-http", is_flag=True, help="oci:// only: plain HTTP to a non-loopback registry.")
@click.option(
    "--base-dir",
    type=click.Path(path_type=Path),
    help="Where an adapter's base goes (default: LOCAL_DIR/base); a directory that already holds the pinned base "
    "(shared by adapters) is checked and used, never written.",
)
@trust_options
@require_option
@output_options
@report_command
def pull_command(
    target: str, revision: str | None, local_dir: Path | None, plain_http: bool, base_dir: Path | None,
    chain: tuple[Path, ...], require: tuple[str, ...], **trust
) -> Outcome:
    """Download TARGET (hf://org/name[@rev], oci://host/path:tag); make it visible once every byte
    verifies.  An adapter release's base comes with it, every file checked against the signed pins."""
    from tinyrel.verifying.bundle import VerifierConfig

    trust_config = VerifierConfig(certificate_chain=chain, **trust)
    try:
        path = api.pull(target, trust_config, local_dir, revision=revision, require=require, plain_http=plain_http,
                        base_dir=base_dir)  # fmt: skip
    except Refused as exc:
        return Outcome(exc.report, f"{target}: NOT verified; nothing was written" + statements_text(exc.report))
    report = path.report
    if "digest" in report.data:  # an OCI release: its manifest digest names what was pulled
        return Outcome(report, f"pulled {target} (manifest {report.data['digest'][:19]}) into {path}: model.sig and "
                       f"the {report.data['files']} files it signs, every byte verified ({report.data['method']})\n"
                       f"{what_it_holds(path, report.data)}")  # fmt: skip
    return Outcome(
        report,
        f"pulled {target} (commit {report.data['commit'][:12]}) into {path}: model.sig and the {report.data['files']} "
        f"files it signs, every byte verified ({report.data['method']}){statements_text(report)}\n"
        f"{what_it_holds(path, report.data)}",
    )


def what_it_holds(path: Path, data: dict) -> str:
    """The next step that is true of what was pulled: load the weights, or — a metadata-only release
    holds none — where the release says they are, and what to check them against."""
    import shlex

    from tinyrel.findings import TinyrelError
    from tinyrel.sources.uri import hub_ref

    base = data.get("base")
    if base:
        how = "already there, every file checked" if base.get("reused") else "every file checked"
        told = f"base {base['uri']} in {base['path']}: the {base['files']} files the release pins ({how})"
        if base.get("adapter"):
            return f"{told}\nuse it: mlx_lm.load({str(base['path'])!r}, adapter_path={str(path)!r})"
        return told
    if data.get("holds_weights"):
        return f'use it: mlx_lm.generate --model {path} --prompt "..."'
    held = "it holds no weights (a metadata-only release)"
    source = data.get("weights_source")
    if source is None:
        return f"{held}, and it does not say where the weights can be obtained"
    listing = next((path / name for name in ("tinyrel.lock", "manifest.json") if (path / name).is_file()), None)
    check = f"compare them with the sizes and SHA-256 that its signed {listing} lists" if listing else ""
    if source.startswith("hf://"):
        try:
            ref = hub_ref(source)
        except TinyrelError:
            ref = None
        if ref is not None and ref.repo_id:
            revision = f" --revision {shlex.quote(ref.revision)}" if ref.revision else ""
            get = f"get them with `hf download {ref.repo_id}{revision} --local-dir WEIGHTS_DIR`"
            return f"{held}; its release.toml says they are at {source}: {get}" + (f", then {check}" if check else "")
    named = f"{held}; its release.toml names their source as {source} (on the publisher's side)"
    return named + (f"; once you have them, {check}" if check else "")
