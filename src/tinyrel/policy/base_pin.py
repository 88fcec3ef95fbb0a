"""The base model's pin: the lock entry ``<release>.base``, what it pins, and what the card says of it.

``tinyrel lock --base`` (and ``init`` with a ``--base-model`` source) resolves the spec's ``[base]
source`` with the same resolver as the weights: an ``hf://`` source to a 40-hex commit and every
file's size and SHA-256 from the Hub's metadata (small git-stored files are fetched and hashed, no
weight is downloaded); a cache snapshot or directory by hashing it.  The entry lives beside the
release's own in ``tinyrel.lock``, so re-locking the weights or publishing (which rewrite the
release's entry only) keeps it, and the published ``tinyrel.lock`` — covered by ``model.sig`` —
carries it: the signature covers the closure (the base a consumer must fetch) too.

A pin is *durable* when it names a Hub repo and a commit: an ``hf://`` entry, or a cache snapshot
(``hf-cache://ORG/NAME@COMMIT``: a copy of that commit).  A plain directory pins bytes, not a commit
anyone else can fetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from tinyrel.findings import Report, TinyrelError
from tinyrel.sources.resolve import LockedSource
from tinyrel.sources.uri import COMMIT_RE, HUB, LOCAL_CACHE, parse_source
from tinyrel.workspace.spec import ReleaseSpec
from tinyrel.workspace.spec_base import BaseSpec

SUFFIX = ".base"
DERIVATION = {"finetune": "fine-tuned from", "adapter": "fine-tuned as an adapter on", "quantized": "quantized from",
              "merge": "merged from"}  # fmt: skip


def entry_name(release: str) -> str:
    """The lock entry that pins ``release``'s base."""
    return release + SUFFIX


def pinned_commit(entry: LockedSource | None) -> tuple[str | None, str | None]:
    """(ORG/NAME, commit) of a durable pin, else (None, None)."""
    if entry is None or entry.kind not in (HUB, LOCAL_CACHE) or not entry.revision:
        return None, None
    if not COMMIT_RE.match(entry.revision) or not entry.uri.startswith(("hf://", "hf-cache://")):
        return None, None
    try:
        repo = parse_source(entry.uri).repo_id
    except TinyrelError:
        return None, None
    return (repo, entry.revision) if repo else (None, None)


def read_pin(lock_path: Path, release: str) -> LockedSource | None:
    """The base entry of the workspace lock, or ``None`` (a lock that does not read is the gate's
    own ``lock/...`` finding)."""
    from tinyrel.sources.lock import read_lock

    try:
        return read_lock(lock_path).get(entry_name(release))
    except TinyrelError:
        return None


def resolve_pin(base: BaseSpec, release: str, root: Path) -> tuple[LockedSource, Report]:
    """Resolve ``[base] source`` into the entry ``<release>.base`` (nothing is written)."""
    from tinyrel.sources.lock import lock_source

    return lock_source(base.source, entry_name(release), base=root)


def pin_base(spec: ReleaseSpec, lock_path: Path) -> tuple[LockedSource, Report]:
    """``tinyrel lock --base``: resolve the spec's ``[base]`` and write it into the lock (other entries,
    the release's own included, are left byte for byte)."""
    from tinyrel.sources.lock import read_lock, update_lock

    if spec.base is None:
        raise TinyrelError("usage/no-base", f"release/{spec.name}.toml has no [base] table to pin: add [base] source "
                           'and relation (e.g. source = "hf://ORG/NAME@main")', usage=True)  # fmt: skip
    if lock_path.exists():
        read_lock(lock_path)  # a malformed lock is refused before any work, and never overwritten
    entry, report = resolve_pin(spec.base, spec.name, lock_path.parent.resolve())
    if report.ok:
        update_lock(lock_path, entry)
    return entry, report


@dataclass
class BaseFacts:
    """What this run knows of the release's base: the spec's ``[base]``, the lock's pin and what the
    Hub said of it (``pin``: ``""`` none | ``"local"`` a directory | ``"unconfirmed"`` not asked
    (offline) | ``"confirmed"`` | ``"refuted"``), for the gate, the card and the published lock."""

    spec: BaseSpec
    base_model: str
    entry: LockedSource | None = None
    pin: str = ""
    public: bool | None = None  # as the Hub reported it (a confirmed pin)
    layers: int | None = None

    @property
    def relation(self) -> str:
        return self.spec.relation

    @property
    def derivation(self) -> str:
        return DERIVATION[self.spec.relation]

    @property
    def commit(self) -> str | None:
        return pinned_commit(self.entry)[1]

    @property
    def pinned_uri(self) -> str | None:
        repo, commit = pinned_commit(self.entry)
        return f"hf://{repo}@{commit}" if repo and commit else None

    @property
    def statement(self) -> Markup:
        """The card's sentence about the base: a commit only as the lock pins it and this run knows it."""
        from tinyrel.card.render import code

        name = code(self.base_model)
        head = f"{name}, relation {code(self.relation)} (the card's `base_model_relation`)"
        count = len(self.entry.files) if self.entry is not None else 0
        files = f"its {count} files are pinned by size and SHA-256 in `tinyrel.lock`"
        if self.pin == "confirmed":
            access = "public" if self.public else "private or gated, allowed by the spec's `[base] allow_restricted`"
            text = f"{head}, pinned at commit {code(self.commit)}, which the Hub confirmed ({access}): {files}."
        elif self.pin == "unconfirmed":
            text = f"{head}, pinned at commit {code(self.commit)} as `tinyrel.lock` records it (not confirmed with " \
                f"the Hub by this run): {files}."  # fmt: skip
        elif self.pin == "refuted":
            text = f"{head}. The lock pins commit {code(self.commit)}, which the Hub contradicts (see the gate's " \
                "`base/pin-refuted` findings)."  # fmt: skip
        elif self.pin == "local":
            text = f"{head}, pinned by size and SHA-256 from a directory on the publisher's machine ({count} files " \
                "in `tinyrel.lock`), not at a commit on the Hub."  # fmt: skip
        else:
            text = f"{head}. The base pin is unresolved: `tinyrel.lock` pins no commit of it (`tinyrel lock --base` " \
                "pins one), so this card names none."  # fmt: skip
        if self.relation == "adapter":
            text += " The adapter loads only onto this base: `mlx_lm.load(BASE_DIR, adapter_path=ADAPTER_DIR)`; " \
                "`tinyrel pull` fetches the base with the adapter and checks every base file against these pins."
        return Markup(text)


@dataclass(frozen=True)
class BaseArgument:
    """``init --base-model``: a Hub id (named in the spec, pinned later), or a source pinned now."""

    source: str  # [base] source, as the workspace's spec states it
    repo_id: str | None  # [release] base_model (None: a plain directory, which names no Hub repo)
    pin_now: bool


def base_argument(value: str, dest: Path) -> BaseArgument:
    """Read ``--base-model``: ``ORG/NAME`` (the Hub id: ``hf://ORG/NAME@main``, pinned by a later
    ``tinyrel lock --base``), or ``hf://ORG/NAME[@REV]``, ``hf-cache://ORG/NAME[@REV]`` or a directory
    (resolved and pinned by ``init`` itself).  Relative directories are kept relative to ``dest``."""
    from tinyrel.sources.uri import cache_uri, is_repo_id, portable_path

    if "://" not in value and not value.startswith((".", "/", "~")) and is_repo_id(value):
        return BaseArgument(f"hf://{value}@main", value, False)
    ref = parse_source(value, Path.cwd())
    if ref.kind == HUB or ref.path is None:
        return BaseArgument(value, ref.repo_id, True)
    if not ref.path.is_dir():
        raise TinyrelError("path/not-found", "--base-model: no base model directory here", usage=True, path=value)
    named = cache_uri(ref.path)
    return BaseArgument(named or portable_path(ref.path, dest), ref.repo_id, True)
