"""The front door for emitting a release: sign it, and publish it (locally, to the Hub, to an OCI
registry)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tinyrel.api._common import PathLike, one_call, workspace_at
from tinyrel.findings import Report, TinyrelError

if TYPE_CHECKING:
    from tinyrel.publishing.release import PublishResult
    from tinyrel.signing.sign import SignerConfig


@one_call
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


@one_call
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
    ws = workspace_at(workspace)
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
