"""The license a new spec starts with: read from what is on this machine, never guessed.

A fine-tune inherits its base model's license.  mlx-lm copies the base model's card into the model
folder it writes (``mlx_lm.convert --hf-path ORG/NAME`` keeps its front matter, ``license`` included),
and a base model downloaded with huggingface_hub has its card in the local cache.  Those two are read
(the card is outside input: size-capped, parsed with ``yaml.safe_load``, the value checked to be a
Hub license id); when neither names one, the spec gets a placeholder the gate refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tinyrel.release_files import CARD

# Text ``tinyrel init`` writes when no license can be read (``spec/placeholder`` until replaced).
LICENSE_PLACEHOLDER = "the base model's license, as a Hub license id"
_LICENSE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|\Z)", re.S)
MAX_CARD_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FoundLicense:
    """A license id and where it was read, or ``license=None`` and why not (``where`` names what was read)."""

    license: str | None
    where: str


def card_license(card: Path) -> str | None:
    """The ``license`` of a model card's YAML front matter, if it is a Hub license id (not ``other``)."""
    import yaml

    from tinyrel.findings import TinyrelError
    from tinyrel.safe_io import read_small

    try:
        text = read_small(card, MAX_CARD_BYTES)
    except (OSError, UnicodeDecodeError, TinyrelError):
        return None
    match = _FRONT_MATTER.match(text)
    if match is None:
        return None
    try:
        data = yaml.safe_load(match.group(1))
    except (yaml.YAMLError, RecursionError):
        return None
    value = data.get("license") if isinstance(data, dict) else None
    if isinstance(value, str) and _LICENSE_ID.match(value) and value != "other":
        return value
    return None


def _cached_base_card(base_model: str) -> Path | None:
    """The base model's README.md in the local Hugging Face cache (its ``main`` snapshot), if any."""
    from tinyrel.findings import TinyrelError
    from tinyrel.safe_io import read_small
    from tinyrel.sources.uri import cache_repo_dir, is_repo_id

    if not is_repo_id(base_model):
        return None
    repo = cache_repo_dir(base_model)
    try:
        commit = read_small(repo / "refs" / "main", 256).strip()
    except (OSError, UnicodeDecodeError, TinyrelError):
        return None
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        return None
    card = repo / "snapshots" / commit / CARD
    return card if card.is_file() else None


def base_license(weights_dir: Path, base_model: str) -> FoundLicense:
    """The license named by the weights folder's card, else by the base model's cached card."""
    own = weights_dir / CARD
    if own.is_file() and (found := card_license(own)):
        return FoundLicense(found, "the weights folder's README.md")
    base_card = _cached_base_card(base_model)
    if base_card is not None and (found := card_license(base_card)):
        return FoundLicense(found, f"{base_model}'s model card in the local Hugging Face cache")
    return FoundLicense(None, f"the weights folder's README.md and {base_model}'s card in the local Hugging Face cache")
