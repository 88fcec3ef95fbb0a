"""inspect-ai logs as per-item records: size-checked before inspect-ai reads them, complete after.

Each sample's score under the log's scorer becomes an item (``C``/``I`` → 1/0, numbers as they
are; with several scorers the first is used and a finding says which; epochs after the first are
items ``<id>#<epoch>``).

A log is evidence only of the eval it says it ran.  A run that was cancelled, crashed or is still
going (status ``cancelled``, ``error``, ``started``), that holds fewer samples than its own plan
(``results.total_samples``: the dataset's samples after ``--limit`` / ``--sample-id``, times the
epochs), that marks samples invalidated, or whose samples ended in an error scores only the items
that happened to finish, so 20 easy items of 200 would pass for the eval: ``evals/records-incomplete``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinyrel.evidence.log_archive import LogDamaged
from tinyrel.evidence.log_limits import (
    MAX_LOG_SAMPLES,
    UNREAD_SAMPLE_FIELDS,
    LogTooLarge,
    check_eval_log,
    check_json_log,
)
from tinyrel.evidence.scores import MAX_RECORDS_BYTES, Records, score_value, shown
from tinyrel.findings import Report


def read_inspect_log(path: Path, rel: str, report: Report) -> Records | None:
    """The per-item scores of a complete inspect-ai log; problems become findings and ``None``."""
    try:
        from inspect_ai.log import read_eval_log
    except ImportError:
        needs = "reading inspect-ai logs needs inspect-ai: pip install 'tinyrel[inspect]'"
        report.error("evals/inspect-missing", needs, rel)
        return None
    log_format = "eval" if path.suffix.lower() == ".eval" else "json"
    read_whole = _within_limits(path, log_format, rel, report)
    if read_whole is None:
        return None
    try:
        skip = None if read_whole else set(UNREAD_SAMPLE_FIELDS)
        log = read_eval_log(str(path), format=log_format, exclude_fields=skip)
    except Exception as exc:  # noqa: BLE001 - inspect-ai raises many types for a malformed log
        report.error("evals/records-unreadable", f"not a readable inspect-ai log: {type(exc).__name__}", rel)
        return None
    samples = log.samples or []
    if len(samples) > MAX_LOG_SAMPLES:
        report.error("evals/records-too-large", f"{len(samples):,} samples, more than the {MAX_LOG_SAMPLES:,} "
                     "allowed in an inspect-ai log", rel)  # fmt: skip
        return None
    before = len(report.errors)
    missing = _incompleteness(log, samples)
    if missing:
        report.error("evals/records-incomplete", "the log is not a complete eval: " + "; ".join(missing), rel)
    records = _scores(samples, rel, report)
    return records if len(report.errors) == before else None


def _within_limits(path: Path, log_format: str, rel: str, report: Report) -> bool | None:
    """``None`` (and a finding) unless the log is small enough, on disk and inflated, for inspect-ai's
    reader; otherwise whether that reader may build all of it (see ``check_eval_log``)."""
    try:
        size = path.stat().st_size
        if size > MAX_RECORDS_BYTES:
            report.error("evals/records-too-large", f"{size:,} bytes, more than the {MAX_RECORDS_BYTES:,} allowed "
                         "for a records file", rel)  # fmt: skip
            return None
        if log_format == "eval":
            return check_eval_log(path)
        check_json_log(path)
        return True
    except LogTooLarge as exc:
        report.error("evals/records-too-large", str(exc), rel)
    except LogDamaged as exc:
        report.error("evals/records-unreadable", f"not a readable inspect-ai log: {exc}", rel)
    except OSError as exc:
        report.error("evals/records-unreadable", f"cannot read the log: {exc.strerror or exc}", rel)
    return None


def _planned_samples(log: Any) -> int | None:
    """How many samples the log's own plan runs (dataset samples after limit/sample ids, times epochs)."""
    config, dataset = log.eval.config, log.eval.dataset
    epochs = config.epochs or 1
    planned = []
    if log.results is not None and log.results.total_samples:
        planned.append(log.results.total_samples)
    if dataset.sample_ids:  # inspect-ai's reader fills these from the samples when a log has none
        planned.append(len(dataset.sample_ids) * epochs)
    if dataset.samples is not None and config.sample_id is None:
        limit = config.limit
        window = slice(0, None) if limit is None else slice(*limit) if isinstance(limit, tuple) else slice(0, limit)
        planned.append(len(range(dataset.samples)[window]) * epochs)
    return max(planned, default=None)


def _incompleteness(log: Any, samples: list[Any]) -> list[str]:
    """What makes the log less than the whole eval it planned (empty when it is complete)."""
    missing = []
    if log.status != "success":
        missing.append(f"its status is {shown(str(log.status))}, not 'success'")
    if log.invalidated:
        missing.append("it marks samples as invalidated")
    planned = _planned_samples(log)
    if planned is not None and len(samples) < planned:
        missing.append(f"it holds {len(samples):,} of the {planned:,} samples its plan runs")
    errored = [sample for sample in samples if sample.error is not None]
    if errored:
        missing.append(f"{len(errored):,} of its samples ended in an error (e.g. {shown(str(errored[0].id))})")
    elif log.results is not None and log.results.completed_samples < log.results.total_samples:
        missing.append(f"its results count {log.results.completed_samples:,} of {log.results.total_samples:,} "
                       "samples completed without an error")  # fmt: skip
    return missing


def _scores(samples: list[Any], rel: str, report: Report) -> Records:
    records = Records(rel)
    for sample in samples:
        if sample.error is not None:
            continue  # counted as incomplete above
        scores = sample.scores or {}
        if not scores:
            report.error("evals/records-invalid", f"sample {shown(str(sample.id))} has no score", rel)
            continue
        name = sorted(scores)[0] if records.scorer is None else records.scorer
        records.scorer = records.scorer or name
        value = scores[name].value if name in scores else None
        score = score_value(value)
        if score is None:
            report.error("evals/records-invalid", f"sample {shown(str(sample.id))}: score {shown(str(value))} is not "
                         "pass/fail or 0..1", rel)  # fmt: skip
            continue
        key = str(sample.id) if (sample.epoch or 1) == 1 else f"{sample.id}#{sample.epoch}"
        if key in records.scores:
            report.error("evals/duplicate-item", f"sample {shown(key)} appears twice", rel)
            continue
        records.scores[key] = score
    scorers = {n for s in samples for n in (s.scores or {})}
    if len(scorers) > 1:
        report.info("evals/scorer", f"the log has scorers {sorted(scorers)}; using {records.scorer!r}", rel)
    return records
