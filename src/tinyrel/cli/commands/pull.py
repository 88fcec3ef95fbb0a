"""``tinyrel pull hf://ORG/NAME[@REV] --public-key PEM [--local-dir DIR]``: a verified copy or nothing."""

from __future__ import annotations

from pathlib import Path

import click

from tinyrel.cli.commands.verify import trust_options
from tinyrel.cli.common import Outcome, output_options, report_command


@click.command("pull")
@click.argument("target")
@click.option("--revision", help="Revision (tag, branch or commit), as with `hf download`.")
@click.option(
    "--local-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the verified files go (default: ./NAME). Must be absent or empty.",
)
@trust_options
@output_options
@report_command
def pull_command(
    target: str, revision: str | None, local_dir: Path | None, chain: tuple[Path, ...], **trust
) -> Outcome:
    """Download TARGET (hf://org/name[@rev]) and make it visible only once every byte verifies."""
    from tinyrel.verifying.bundle import VerifierConfig
    from tinyrel.verifying.pull import pull

    report = pull(target, VerifierConfig(certificate_chain=chain, **trust), local_dir, revision=revision)
    if not report.ok:
        return Outcome(report, f"{target}: NOT verified; nothing was written")
    path = report.data["path"]
    return Outcome(
        report,
        f"pulled {target} (commit {report.data['commit'][:12]}) into {path}: model.sig and the {report.data['files']} "
        f"files it signs, every byte verified ({report.data['method']})\n{what_it_holds(Path(path))}",
    )


def what_it_holds(path: Path) -> str:
    """The next step that is true of what was pulled: load the weights, or — a metadata-only release
    holds none — where the release says they are, and what to check them against."""
    import shlex

    from tinyrel.findings import TinyrelError
    from tinyrel.publishing.release import stated_weights_source
    from tinyrel.sources.uri import hub_ref

    if any(path.rglob("*.safetensors")):
        return f'use it: mlx_lm.generate --model {path} --prompt "..."'
    held = "it holds no weights (a metadata-only release)"
    source = stated_weights_source(path)
    if source is None:
        return f"{held}, and it does not say where the weights can be obtained"
    source = " ".join(source.split())[:300]  # signed, but still text from elsewhere: one line, bounded
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
