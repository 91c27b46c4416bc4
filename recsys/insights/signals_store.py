"""Run a signal miner over check-in feedback and store what it finds in ``feedback_signals``.

The miner is anything with a ``version`` string and ``analyze(texts)`` returning, per text, the
detected signals (``label``, ``score``, ``evidence`` spans): :class:`models.signals.SignalMiner`
in production, a small fake in tests. A note's stored signals are replaced as a whole and the
note is stamped with the miner's version, so re-running the same miner is a no-op and a new miner
version re-analyses everything (:func:`analyze_pending`).

Feedback text is confidential: it is read here but never logged (only ids and counts are).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from recsys import db
from recsys.schemas import Signal

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 64


class DetectedSignalLike(Protocol):
    """One detected signal: what :class:`models.signals.DetectedSignal` provides."""

    @property
    def label(self) -> str: ...

    @property
    def score(self) -> float: ...

    @property
    def evidence(self) -> Sequence[str]: ...


class SignalMinerLike(Protocol):
    """What this module needs from a miner (``models.signals.SignalMiner``).

    Its version comes from :func:`miner_version`: a ``version`` attribute when the miner has
    one, else a hash of its ``manifest``.
    """

    def analyze(self, texts: Sequence[str]) -> Sequence[Sequence[DetectedSignalLike]]: ...


@dataclass(frozen=True)
class StoredSignal:
    """A stored signal joined with its note's metadata (never the note text)."""

    feedback_id: str
    pairing_id: str
    author_role: str
    created_at: dt.date
    label: str
    score: float
    evidence: tuple[str, ...]


def miner_version(miner: SignalMinerLike) -> str:
    """The miner's ``version``, or the first 16 hex digits of the sha256 of its manifest."""
    version = getattr(miner, "version", None)
    if version:
        return str(version)[:64]
    manifest = getattr(miner, "manifest", None)
    if isinstance(manifest, Mapping) and manifest:
        canonical = json.dumps(manifest, sort_keys=True, default=str).encode()
        return "m-" + hashlib.sha256(canonical).hexdigest()[:16]
    raise ValueError("the signal miner has neither a version nor a manifest")


def _chunks(rows: Sequence[db.Feedback], size: int) -> Iterator[Sequence[db.Feedback]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _label(value: str) -> str:
    """Normalise a label (enum member or string) to its contract name; unknown labels fail."""
    return Signal(str(value)).value


def analyze_and_store(
    session: Session,
    org: str,
    feedback_rows: Sequence[db.Feedback],
    miner: SignalMinerLike,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> dict[str, list[DetectedSignalLike]]:
    """Analyse ``feedback_rows`` (of ``org``) in batches; store and return their signals.

    For each analysed note the previously stored signals are deleted and the new ones written
    (one row per label: the highest score, evidence spans merged in order), and
    ``signals_version`` is set to the miner's version. Purged notes (text is NULL) cannot be
    re-analysed: their stored signals are kept and they are left out of the result.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    version = miner_version(miner)
    rows = [r for r in feedback_rows if r.text is not None]
    foreign = [r.id for r in rows if r.org_id != org]
    if foreign:
        raise ValueError(f"{len(foreign)} feedback rows do not belong to organisation {org!r}")
    out: dict[str, list[DetectedSignalLike]] = {}
    n_signals = 0
    for batch in _chunks(rows, batch_size):
        texts = [r.text or "" for r in batch]
        results = miner.analyze(texts)
        if len(results) != len(batch):
            raise RuntimeError(
                f"signal miner returned {len(results)} results for {len(batch)} texts"
            )
        ids = [r.id for r in batch]
        session.execute(
            delete(db.FeedbackSignal).where(
                db.FeedbackSignal.org_id == org, db.FeedbackSignal.feedback_id.in_(ids)
            )
        )
        for row, detected in zip(batch, results, strict=True):
            merged = _merge_by_label(detected)
            for label, (score, evidence) in merged.items():
                session.add(
                    db.FeedbackSignal(
                        org_id=org, feedback_id=row.id, label=label, score=score,
                        evidence=evidence,
                    )
                )  # fmt: skip
            n_signals += len(merged)
            row.signals_version = version
            out[row.id] = list(detected)
        session.flush()
    log.info(
        "analysed %d feedback notes for org %s with miner %s: %d signals stored",
        len(rows), org, version, n_signals,
    )  # fmt: skip
    return out


def _merge_by_label(
    detected: Sequence[DetectedSignalLike],
) -> dict[str, tuple[float, list[str]]]:
    merged: dict[str, tuple[float, list[str]]] = {}
    for sig in detected:
        label = _label(sig.label)
        score = float(min(max(sig.score, 0.0), 1.0))
        prev_score, prev_evidence = merged.get(label, (0.0, []))
        evidence = list(dict.fromkeys([*prev_evidence, *(str(e) for e in sig.evidence)]))
        merged[label] = (max(prev_score, score), evidence)
    return merged


def analyze_pending(
    session: Session,
    org: str,
    miner: SignalMinerLike,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> int:
    """Analyse every note of ``org`` whose ``signals_version`` is not the miner's; returns the count.

    Notes are read in id order, one batch at a time, so memory stays flat on large stores.
    """
    version = miner_version(miner)
    fb = db.Feedback
    done = 0
    after = ""
    while True:
        stmt = (
            select(fb)
            .where(
                fb.org_id == org,
                fb.text.is_not(None),
                or_(fb.signals_version.is_(None), fb.signals_version != version),
                fb.id > after,
            )
            .order_by(fb.id)
            .limit(batch_size)
        )
        batch = list(session.scalars(stmt))
        if not batch:
            return done
        analyze_and_store(session, org, batch, miner, batch_size=batch_size)
        done += len(batch)
        after = batch[-1].id


def load_signals(
    session: Session,
    org: str,
    pairing_ids: Sequence[str] | None = None,
    *,
    as_of: dt.date | None = None,
) -> list[StoredSignal]:
    """Stored signals of ``org`` (optionally of some pairings, of notes dated <= ``as_of``)."""
    fb, fs = db.Feedback, db.FeedbackSignal
    base = (
        select(fb.id, fb.pairing_id, fb.author_role, fb.created_at, fs.label, fs.score, fs.evidence)
        .join(fs, (fs.org_id == fb.org_id) & (fs.feedback_id == fb.id))
        .where(fb.org_id == org)
    )
    if as_of is not None:
        base = base.where(fb.created_at <= as_of)
    out: list[StoredSignal] = []
    id_chunks: list[Sequence[str] | None] = [None]
    if pairing_ids is not None:
        ids = list(dict.fromkeys(pairing_ids))
        id_chunks = [ids[i : i + 5000] for i in range(0, len(ids), 5000)]
    for chunk in id_chunks:
        stmt = base if chunk is None else base.where(fb.pairing_id.in_(chunk))
        for fid, pid, role, created, label, score, evidence in session.execute(stmt):
            out.append(
                StoredSignal(
                    feedback_id=fid, pairing_id=pid, author_role=role, created_at=created,
                    label=label, score=float(score), evidence=tuple(evidence or ()),
                )
            )  # fmt: skip
    return out


def signals_by_feedback(signals: Sequence[StoredSignal]) -> Mapping[str, list[StoredSignal]]:
    out: dict[str, list[StoredSignal]] = {}
    for s in signals:
        out.setdefault(s.feedback_id, []).append(s)
    return out
