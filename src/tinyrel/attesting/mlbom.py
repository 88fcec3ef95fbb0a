"""The release as a CycloneDX 1.6 ML-BOM (``attestations/sbom.cdx.json``), built with
cyclonedx-python-lib.

- ``metadata.component``: the release, a ``machine-learning-model`` with its version, license and
  one ``file`` component per weight file with its SHA-256; its purl ``pkg:huggingface/ORG/NAME@COMMIT``
  when the weights are at a public commit the Hub confirmed, ``pkg:huggingface/ORG/NAME`` (no
  version: a commit cannot name itself) plus the tag's URL when this very release hosts them;
- ``components`` / ``dependencies``: the base model (at its pinned commit, with its files, when
  the lock pins it), which the release depends on;
- ``modelCard`` (the library does not model it yet, so it is added to the library's JSON and the
  whole is checked against the 1.6 schema by the tests): ``modelParameters`` (task, architecture
  family and class from the manifest's config, datasets from ``[provenance]``),
  ``quantitativeAnalysis.performanceMetrics`` (each eval's recomputed score with its Wilson 95%
  interval, n in the slice), ``considerations`` (the routed-only use case; what not to use it for
  and the negative-transfer rows as technical limitations) and ``properties`` (n, stock score and
  the paired comparison per eval, in full).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from tinyrel.attesting.inputs import AttestationInputs


def _number(value: float) -> str:
    return repr(round(float(value), 6))


def ml_bom(inputs: AttestationInputs) -> dict[str, Any]:
    """The ML-BOM as a JSON document (CycloneDX 1.6)."""
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6

    from tinyrel import __version__

    spec = inputs.spec
    model = _model_component(inputs)
    bom = Bom()
    bom.metadata.component = model
    bom.metadata.timestamp = datetime.datetime.fromisoformat(inputs.created.replace("Z", "+00:00"))
    bom.metadata.tools.components.add(Component(type=ComponentType.APPLICATION, name="tinyrel", version=__version__))
    if spec.base_model:
        base = _base_component(inputs)
        bom.components.add(base)
        bom.register_dependency(model, [base])
    doc = json.loads(JsonV1Dot6(bom).output_as_string())
    doc["metadata"]["component"]["modelCard"] = model_card(inputs)
    return doc


def _model_component(inputs: AttestationInputs):
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, XsUri
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    spec, ctx = inputs.spec, inputs.ctx
    purl, references = None, []
    if inputs.hosted_uri() and ctx.mode == "weights":
        org, name = str(inputs.facts.repo_id).split("/", 1)
        purl = PackageURL(type="huggingface", namespace=org, name=name)
        url = f"https://huggingface.co/{inputs.facts.repo_id}/tree/{inputs.facts.tag}"
        references.append(ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(url)))
    elif ctx.pin == "confirmed" and ctx.lock is not None:
        org, name = ctx.lock.uri.removeprefix("hf://").split("@")[0].split("/", 1)
        purl = PackageURL(type="huggingface", namespace=org, name=name, version=ctx.lock.revision)
    files = [Component(type=ComponentType.FILE, name=s["name"], bom_ref=f"file:{s['name']}",
                       hashes=[HashType(alg=HashAlgorithm.SHA_256, content=s["digest"]["sha256"])])
             for s in inputs.subjects() if s["name"] != "README.md"]  # fmt: skip
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL, name=spec.name, version=spec.version, bom_ref="model",
        description=" ".join(spec.summary.split()), purl=purl, external_references=references, components=files,
        licenses=[LicenseFactory().make_from_string(spec.license)],
    )  # fmt: skip


def _base_component(inputs: AttestationInputs):
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    org, name = inputs.spec.base_model.split("/", 1)
    pins = inputs.base_pins()
    commit = pins[0].revision if pins else None
    files = [Component(type=ComponentType.FILE, name=f["path"], bom_ref=f"base-file:{f['path']}",
                       hashes=[HashType(alg=HashAlgorithm.SHA_256, content=f["sha256"])])
             for f in (pins[0].files if pins else []) if f.get("sha256")]  # fmt: skip
    return Component(type=ComponentType.MACHINE_LEARNING_MODEL, name=inputs.spec.base_model, bom_ref="base-model",
                     version=commit, purl=PackageURL(type="huggingface", namespace=org, name=name, version=commit),
                     components=files)  # fmt: skip


def model_card(inputs: AttestationInputs) -> dict[str, Any]:
    from tinyrel.evidence.collect import fmt_paired

    spec, ctx = inputs.spec, inputs.ctx
    config = ctx.manifest.get("model") if isinstance(ctx.manifest, dict) else None
    config = config if isinstance(config, dict) else {}
    parameters: dict[str, Any] = {"task": spec.pipeline_tag}
    if isinstance(config.get("model_type"), str):
        parameters["architectureFamily"] = config["model_type"]
    architectures = config.get("architectures")
    if isinstance(architectures, list) and architectures and isinstance(architectures[0], str):
        parameters["modelArchitecture"] = architectures[0]
    datasets = [{"type": "dataset", "name": d.id, "description": f"training data at revision {d.revision} ({d.uri})"}
                for d in spec.provenance.datasets]  # fmt: skip
    if datasets:
        parameters["datasets"] = datasets
    metrics, properties = [], []
    for e in spec.evals:
        evidence = ctx.evidence.get(e.id)
        tuned = evidence.tuned if evidence is not None else None
        if tuned is None:
            continue
        metrics.append({"type": e.metric, "value": _number(tuned.score), "slice": f"{e.name} ({e.kind}, n={tuned.n})",
                        "confidenceInterval": {"lowerBound": _number(tuned.ci_low),
                                               "upperBound": _number(tuned.ci_high)}})  # fmt: skip
        properties.append({"name": f"tinyrel:eval:{e.id}:n", "value": str(tuned.n)})
        if evidence.stock is not None:
            properties.append({"name": f"tinyrel:eval:{e.id}:stock", "value": json.dumps(evidence.stock.to_dict())})
        if evidence.paired is not None:
            properties.append({"name": f"tinyrel:eval:{e.id}:paired", "value": json.dumps(evidence.paired.to_dict())})
    routing = spec.routing
    use = routing.router_guidance
    if routing.routed_only:
        use = f"Routed-only ({routing.domain}): {use}"
    limitations = [f"Not for: {item}" for item in routing.not_for]
    for e in spec.evals_of("breadth"):
        evidence = ctx.evidence.get(e.id)
        pair = fmt_paired(evidence.stock, evidence.tuned, evidence.paired) if evidence else fmt_paired(None, None, None)
        stock = "-" if e.stock is None else f"{e.stock:g}"
        limitations.append(f"Negative transfer, {e.name}: stock {stock}, this model {e.tuned:g} ({pair})")
    considerations = {"useCases": [" ".join(use.split())], "technicalLimitations": limitations}
    card: dict[str, Any] = {"modelParameters": parameters, "considerations": considerations}
    if metrics:
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    if properties:
        card["properties"] = properties
    return card
