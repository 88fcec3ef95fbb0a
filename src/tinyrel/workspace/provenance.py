"""The spec's optional ``[provenance]`` table: what the release was trained from, for its signed
SLSA provenance statement (``tinyrel.attesting``)::

    [provenance]
    recipe = "training/lora.yaml"                      # a file in the workspace: its SHA-256 is attested
    datasets = ["my-org/fileops-traces@0123abcd…"]    # Hub dataset ids, each at the revision trained on

Both are optional.  A recipe path is outside input: relative, normalised and inside the workspace
(it is read when the statements are built, never followed out of the workspace).  A dataset names
its revision, because a provenance statement that says "some version of this dataset" proves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tinyrel.workspace._spec_reader import SpecNote, _Reader

SECTION = "provenance"


@dataclass(frozen=True)
class DatasetPin:
    id: str  # a Hub dataset id, ORG/NAME
    revision: str  # the revision trained on (a commit id pins it; a branch or tag is recorded as written)

    @property
    def uri(self) -> str:
        """huggingface_hub's file-system form of a dataset at a revision."""
        return f"hf://datasets/{self.id}@{self.revision}"


@dataclass
class ProvenanceSpec:
    recipe: str | None = None  # workspace-relative training recipe
    datasets: list[DatasetPin] = field(default_factory=list)
    line: int | None = None  # the table's line in the spec, for findings


def parse_provenance(r: _Reader, doc: dict[str, Any]) -> tuple[ProvenanceSpec, list[SpecNote]]:
    """The ``[provenance]`` table (empty when absent) and its unknown-key notes."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    from tinyrel.safe_io import checked_relpath

    table = doc.get(SECTION)
    if table is None:
        return ProvenanceSpec(), []
    if not isinstance(table, dict):
        raise r.fail(f"'{SECTION}' must be a table ([{SECTION}])", SECTION)
    recipe = r.get(table, "recipe", str, SECTION, None)
    if recipe is not None:
        try:
            checked_relpath(recipe)
        except ValueError:
            raise r.fail(f"'recipe' in [{SECTION}] must be a relative path inside the workspace (got {recipe!r})",
                         "recipe", SECTION) from None  # fmt: skip
    datasets = []
    for entry in r.text_list(table, "datasets", SECTION, []):
        dataset_id, at, revision = entry.partition("@")
        try:
            validate_repo_id(dataset_id)
        except HFValidationError:
            dataset_id = ""
        if "/" not in dataset_id or not at or not revision or revision != revision.strip() or " " in revision:
            raise r.fail(f"'datasets' in [{SECTION}] must hold Hub dataset ids with the revision trained on, "
                         f"ORG/NAME@REVISION (got {entry!r})", "datasets", SECTION)  # fmt: skip
        datasets.append(DatasetPin(dataset_id, revision))
    return ProvenanceSpec(recipe, datasets, r.line_of("", SECTION)), r.unknown_keys(table, SECTION)
