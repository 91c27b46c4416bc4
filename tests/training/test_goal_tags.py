"""The goal-to-tag model's training: what it learns, its vocabulary, its cross-fitted column."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import training.goal_tags as gtags
import training.text_adapter as ta
from features.labels import COMPLETED_HIGH
from features.pairs import FEATURE_NAMES
from features.text import tag_coverage
from models.ranker import RankerModel
from recsys.catalog import tag_column_table
from training.ranker import RankingDataset, time_split

SMALL = gtags.GoalTagConfig(batch=64, check_every=10, patience=5, folds=3, min_pairs=20)
TOPICS = ("sql", "coaching", "negotiation", "design", "hiring", "budgets")


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _programme(n_goals: int, n_mentors: int = 60, d: int = 24, seed: int = 0):
    """Goals about one of six topics, said in one sentence among two of chatter; mentors list
    the tag of their topic and one tag every mentor has. Returns goal sentences, mask, topic
    per goal, mentor tags and topic per mentor."""
    rng = np.random.default_rng(seed)
    say = rng.normal(size=(len(TOPICS), d))
    topic = rng.integers(0, len(TOPICS), n_goals)
    sents = rng.normal(size=(n_goals, 3, d))
    where = rng.integers(0, 3, n_goals)
    sents[np.arange(n_goals), where] = say[topic] + 0.4 * rng.normal(size=(n_goals, d))
    mentor_topic = np.arange(n_mentors) % len(TOPICS)
    tags = [frozenset({TOPICS[t], "communication"}) for t in mentor_topic]
    return _unit(sents), np.ones((n_goals, 3), bool), topic, tags, mentor_topic


def test_model_learns_which_tags_unseen_goals_call_for():
    goals, mask, topic, tags, mentor_topic = _programme(500)
    vocab = gtags.tag_vocabulary(tags)
    targets = gtags.tag_targets(tags, vocab)
    rng = np.random.default_rng(1)
    # each training goal paired with a mentor of its topic
    partner = np.array([rng.choice(np.flatnonzero(mentor_topic == t)) for t in topic])
    pairs = np.column_stack([np.arange(400), partner[:400]])
    model = gtags.fit_goal_tags(goals, mask, targets, vocab, pairs, config=SMALL)
    probs = model.tag_probs(goals[400:], mask[400:])
    columns = tag_column_table(tags, model)
    right = tag_coverage(probs, columns[partner[400:]])
    other = tag_coverage(probs, columns[(partner[400:] + 1) % 60])
    assert (right > other).mean() > 0.9  # a mentor of the goal's topic scores higher
    assert vocab == tuple(sorted((*TOPICS, "communication")))


def test_vocabulary_keeps_tags_several_mentors_list():
    tags = [frozenset({"sql", "golf"}), frozenset({"sql"}), frozenset({"python", "sql"}),
            frozenset({"python"})]  # fmt: skip
    assert gtags.tag_vocabulary(tags, min_mentors=2) == ("python", "sql")
    assert gtags.tag_vocabulary(tags, min_mentors=1, max_tags=1) == ("sql",)
    targets = gtags.tag_targets(tags, ("python", "sql"))
    assert targets[2].tolist() == [0.5, 0.5] and targets[0].tolist() == [0.0, 1.0]


def test_fitting_needs_pairs_with_known_tags():
    goals, mask, _, tags, _ = _programme(10)
    vocab = gtags.tag_vocabulary(tags)
    no_tags = np.zeros((60, len(vocab)), np.float32)
    with pytest.raises(ValueError, match="two pairs with known tags"):
        gtags.fit_goal_tags(goals, mask, no_tags, vocab, np.array([[0, 0], [1, 1]]))


def _dataset(topic: np.ndarray, mentor_topic: np.ndarray, per: int = 3) -> RankingDataset:
    """``per`` rows per mentee (its first row's mentor shares its topic), dated in turn."""
    n = len(topic)
    rows = n * per
    mentee_rows = np.repeat(np.arange(n), per)
    first = np.array([np.flatnonzero(mentor_topic == t)[i % 10] for i, t in enumerate(topic)])
    mentor_rows = np.where(np.arange(rows) % per == 0, first[mentee_rows], np.arange(rows) % 60)
    days = np.datetime64("2025-01-01") + np.arange(rows).astype("timedelta64[D]")
    return RankingDataset(
        mentee_ids=np.array([f"mentee-{i}" for i in mentee_rows], dtype=object),
        mentor_rows=mentor_rows,
        mentee_rows=mentee_rows,
        dates=days.astype("datetime64[D]"),
        labels=np.where(np.arange(rows) % per == 0, COMPLETED_HIGH, 1),
        group=np.arange(rows) // 4,
        exclude_self=np.zeros(rows, bool),
        from_log=np.zeros(rows, bool),
        x=np.full((rows, len(FEATURE_NAMES)), np.nan, np.float32),
    )


def test_each_training_row_is_featurised_without_its_mentees_pairings(monkeypatch):
    goals, mask, topic, tags, mentor_topic = _programme(120)
    ds = _dataset(topic, mentor_topic)
    catalog = SimpleNamespace(skills=tags)
    mentees = SimpleNamespace(goal_sent_vecs=goals, goal_sent_mask=mask)
    fits: list[np.ndarray] = []
    real_fit = gtags.fit_goal_tags

    def spy(*args, **kw):
        fits.append(np.asarray(args[4]).copy())
        return real_fit(*args, **kw)

    monkeypatch.setattr(gtags, "fit_goal_tags", spy)
    model, info = gtags.fill_goal_tags(ds, catalog, mentees, config=SMALL)  # type: ignore[arg-type]
    assert model is not None and info is not None and info["positives"] == "good_outcomes"
    later, _ = time_split(ds)
    col = ds.x[:, gtags.COLUMN]
    assert np.isfinite(col).all()
    # the served model saw every positive before the cut-off; each fold's model none of the
    # pairs of the mentees whose rows it filled
    assert len(fits) == 1 + SMALL.folds
    folds = ta.mentee_folds(ds.mentee_ids, SMALL.folds)
    for fold, pairs in enumerate(fits[1:]):
        filled = set(ds.mentee_rows[~later & (folds == fold)].tolist())
        assert filled and not filled & set(pairs[:, 0].tolist())
    # validation rows carry the served model's values, as serving would compute them
    served = gtags.goal_tags_column(ds, later, catalog, mentees, model)  # type: ignore[arg-type]
    assert np.allclose(col[later], served)
    # and the column says something: rows with a mentor of the goal's topic score higher
    own = ds.labels == COMPLETED_HIGH
    assert np.nanmean(col[own & later]) > np.nanmean(col[~own & later])


def test_too_few_pairs_leave_the_column_empty():
    goals, mask, topic, tags, mentor_topic = _programme(12)
    ds = _dataset(topic, mentor_topic)
    catalog = SimpleNamespace(skills=tags)
    mentees = SimpleNamespace(goal_sent_vecs=goals, goal_sent_mask=mask)
    few = gtags.GoalTagConfig(min_pairs=100)  # 36 rows, under 30 before the cut-off
    model, info = gtags.fill_goal_tags(ds, catalog, mentees, config=few)  # type: ignore[arg-type]
    assert model is None and info is None
    assert np.isnan(ds.x[:, gtags.COLUMN]).all()


def test_the_model_ships_in_the_ranker_bundle(tmp_path):
    from models.goal_tags import GoalTagModel

    model = RankerModel.cold_start("enc")
    model.goal_tags = GoalTagModel(np.ones((4, 2), np.float32), np.zeros(2, np.float32), ("a", "b"))
    model.save(tmp_path)
    back = RankerModel.load(tmp_path)
    assert back.goal_tags is not None and back.goal_tags.vocab == ("a", "b")
    plain = tmp_path / "plain"
    RankerModel.cold_start("enc").save(plain)
    assert RankerModel.load(plain).goal_tags is None


def test_a_bundle_from_a_newer_release_is_refused_with_the_feature_version_message(tmp_path):
    import json

    from models.ranker import MANIFEST_FILE, ModelMismatchError

    RankerModel.cold_start("enc").save(tmp_path)
    raw = json.loads((tmp_path / MANIFEST_FILE).read_text())
    raw |= {"feature_version": "from-the-future", "a_field_this_code_lacks": 1}
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(raw))
    with pytest.raises(ModelMismatchError, match="retrain"):
        RankerModel.load(tmp_path)
