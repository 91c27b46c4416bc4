"""Exposure audit: how the attention of recommended (or assigned) lists spreads over mentors.

Recommending the same few popular mentors to everyone overloads them and leaves the rest idle,
and it can quietly disadvantage whole groups (a location, an opt-in self-described group). The
audit measures concentration over the whole catalogue (Gini, share of the top 10%, coverage)
and, per attribute value, the share of exposure a group gets against its share of mentors.

Group labels are self-described values, so groups with fewer than ``min_group_size`` mentors
are pooled into one bucket: a report never singles out a small group (or one person) by name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict

import numpy as np

from evaluation.metrics import gini, top_share

NOT_STATED = "(not stated)"
DEFAULT_MIN_GROUP_SIZE = 5
DEFAULT_ATTRIBUTES = ("location", "group")


def small_groups_label(min_group_size: int) -> str:
    return f"(groups under {min_group_size} mentors)"


class GroupExposure(TypedDict):
    n_mentors: int
    mentor_share: float
    exposure_share: float
    exposure_ratio: float  # exposure_share / mentor_share: 1 = fair share, < 1 under-exposed
    coverage: float  # share of the group's mentors recommended at least once


class ExposureAudit(TypedDict):
    n_mentors: int
    total_exposure: float
    gini: float
    top10_share: float
    coverage: float
    groups: dict[str, dict[str, GroupExposure]]  # attribute -> group label -> figures


def position_weight(rank: int) -> float:
    """Attention a list position gets, 1 / log2(1 + rank) for 1-based ``rank`` (the DCG
    discount): the first place counts 1, the second 0.63, the tenth 0.29."""
    if rank < 1:
        raise ValueError(f"rank is 1-based, got {rank}")
    return 1.0 / math.log2(1 + rank)


def exposure_by_item(
    lists: Iterable[Sequence[str]],
    catalogue: Iterable[str] = (),
    *,
    position_weighted: bool = False,
) -> dict[str, float]:
    """Exposure per item: appearances in the lists (or position-weighted appearances).

    Every id in ``catalogue`` is present, with 0 when never shown, so that concentration
    measures see the idle mentors too.
    """
    exposure: dict[str, float] = dict.fromkeys(catalogue, 0.0)
    for items in lists:
        for rank, item in enumerate(items, start=1):
            weight = position_weight(rank) if position_weighted else 1.0
            exposure[item] = exposure.get(item, 0.0) + weight
    return exposure


def attributes_from_mentors(
    mentors: Iterable[object], fields: Sequence[str] = DEFAULT_ATTRIBUTES
) -> dict[str, dict[str, str | None]]:
    """mentor id -> {attribute: value} from objects with an ``id`` and the named fields
    (e.g. ``recsys.schemas.MentorIn``); a missing field reads as not stated."""
    return {
        str(getattr(mentor, "id")): {field: getattr(mentor, field, None) for field in fields}  # noqa: B009
        for mentor in mentors
    }


def _label(value: str | None) -> str:
    if value is None or not str(value).strip():
        return NOT_STATED
    return str(value).strip()


def _group_figures(
    member_ids: list[str],
    exposure: Mapping[str, float],
    n_mentors: int,
    total_exposure: float,
) -> GroupExposure:
    group_exposure = sum(exposure[m] for m in member_ids)
    mentor_share = len(member_ids) / n_mentors
    exposure_share = group_exposure / total_exposure if total_exposure > 0 else math.nan
    return GroupExposure(
        n_mentors=len(member_ids),
        mentor_share=mentor_share,
        exposure_share=exposure_share,
        exposure_ratio=exposure_share / mentor_share,
        coverage=sum(1 for m in member_ids if exposure[m] > 0) / len(member_ids),
    )


def exposure_audit(
    lists: Iterable[Sequence[str]],
    attributes: Mapping[str, Mapping[str, str | None]],
    *,
    position_weighted: bool = False,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> ExposureAudit:
    """Audit the exposure of the mentors in ``attributes`` (the catalogue: mentor id ->
    {attribute name: value or None}) across ``lists`` of recommended or assigned mentor ids.

    Raises ValueError when a list holds a mentor outside the catalogue: the catalogue must be
    every mentor that could have been chosen, or the shares would be wrong.
    Shares are NaN when the lists are empty (no exposure to share).
    """
    if min_group_size < 1:
        raise ValueError(f"min_group_size must be >= 1, got {min_group_size}")
    if not attributes:
        raise ValueError("the catalogue (attributes) is empty")
    exposure = exposure_by_item(lists, attributes.keys(), position_weighted=position_weighted)
    unknown = [m for m in exposure if m not in attributes]
    if unknown:
        raise ValueError(
            f"{len(unknown)} recommended mentor(s) not in the catalogue, e.g. {unknown[:3]}"
        )

    mentor_ids = list(attributes)
    vector = np.fromiter((exposure[m] for m in mentor_ids), dtype=np.float64, count=len(mentor_ids))
    total = float(vector.sum())
    n_mentors = len(mentor_ids)

    attribute_names = sorted({name for attrs in attributes.values() for name in attrs})
    groups: dict[str, dict[str, GroupExposure]] = {}
    pooled_label = small_groups_label(min_group_size)
    for name in attribute_names:
        members: dict[str, list[str]] = {}
        for mentor_id in mentor_ids:
            members.setdefault(_label(attributes[mentor_id].get(name)), []).append(mentor_id)
        shown: dict[str, list[str]] = {}
        for label, ids in sorted(members.items()):
            key = label if len(ids) >= min_group_size or label == NOT_STATED else pooled_label
            shown.setdefault(key, []).extend(ids)
        groups[name] = {
            label: _group_figures(ids, exposure, n_mentors, total) for label, ids in shown.items()
        }

    return ExposureAudit(
        n_mentors=n_mentors,
        total_exposure=total,
        gini=gini(vector),
        top10_share=top_share(vector, 0.1),
        coverage=float((vector > 0).sum() / n_mentors),
        groups=groups,
    )


_METRIC_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /]+")


def _metric_key(text: str) -> str:
    # MLflow metric names allow only letters, digits, ``_ - . /`` and spaces.
    return _METRIC_NAME_UNSAFE.sub("_", text).strip("_ ") or "_"


def flatten_audit(audit: ExposureAudit, prefix: str = "exposure") -> dict[str, float]:
    """One flat ``name -> float`` dict (for MLflow metrics or a report table), e.g.
    ``exposure.gini`` and ``exposure.location.Berlin.ratio``; characters MLflow rejects in
    metric names become ``_`` (``(not stated)`` -> ``not stated``)."""
    flat: dict[str, float] = {
        f"{prefix}.gini": audit["gini"],
        f"{prefix}.top10_share": audit["top10_share"],
        f"{prefix}.coverage": audit["coverage"],
    }
    for name, by_label in audit["groups"].items():
        for label, figures in by_label.items():
            key = f"{prefix}.{_metric_key(name)}.{_metric_key(label)}"
            flat[f"{key}.mentor_share"] = figures["mentor_share"]
            flat[f"{key}.exposure_share"] = figures["exposure_share"]
            flat[f"{key}.ratio"] = figures["exposure_ratio"]
    return flat


def group_rows(audit: ExposureAudit) -> list[dict[str, object]]:
    """Rows for a report table: one per (attribute, group)."""
    return [
        {"attribute": name, "group": label, **figures}
        for name, by_label in audit["groups"].items()
        for label, figures in by_label.items()
    ]
