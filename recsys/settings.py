"""One settings object for the whole service (env prefix ``RECSYS_``).

Nothing is read at import time: call :func:`get_settings` (cached) or build
``Settings()`` explicitly in tests.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Days a mentor who declined a request for ``no_capacity`` is treated as full.
CAPACITY_DECLINE_DAYS = 14
# Largest catalog searched exactly in the ranker's learned text space for the first stage's
# reserved share (recsys.recommend.learned_nearest, recsys.retrieval.learned): above it an
# inverted file (0.1-0.16 ms per search at 30k-120k mentors, recall@50 0.99).
LEARNED_EXACT_MAX = 20_000

EncoderBackend = Literal["torch", "onnx", "onnx-int8"]
IndexType = Literal["auto", "flat", "hnsw"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECSYS_", extra="ignore")

    # --- local state -------------------------------------------------------
    home: Path = Field(default=Path(".recsys"), description="All local state lives here.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite under RECSYS_HOME."
    )
    org: str = Field(default="default", description="Organisation used by the CLI.")

    # --- MLflow ------------------------------------------------------------
    mlflow_tracking_uri: str | None = Field(
        default=None,
        description="Tracking URI; falls back to MLFLOW_TRACKING_URI, then SQLite in RECSYS_HOME.",
    )
    mlflow_experiment: str = "recsys"
    model_alias: str = "champion"
    ranker_model_name: str = "recsys-ranker"
    signals_model_name: str = "recsys-signals"
    risk_model_name: str = "recsys-risk"

    # --- encoder -----------------------------------------------------------
    encoder: str = Field(
        default="all-MiniLM-L6-v2",
        description="Model name (hub id) or local path. The default loads the bundled copy.",
    )
    # onnx-int8: ~3x faster than torch fp32 per request here, ranking NDCG unchanged
    # (README "Measured"); torch stays available as the fp32 reference.
    encoder_backend: EncoderBackend = "onnx-int8"
    encoder_cache: Path | None = Field(
        default=None,
        description="Where ONNX exports of the encoder are kept (a per-machine cache shared by "
        "every RECSYS_HOME); default $XDG_CACHE_HOME/recsys/encoders or ~/.cache/recsys/encoders.",
    )
    encoder_batch_size: int = 64
    threads: int = Field(default=2, ge=1, description="torch / FAISS / LightGBM threads.")

    # --- candidate retrieval ----------------------------------------------
    index_type: IndexType = "auto"
    index_exact_max: int = Field(
        default=20_000, description="Pools up to this size use exact search when index_type=auto."
    )
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    # recall@10 0.954 at 100k mentors (0.988 at 256); ranker NDCG@10 vs the ground truth of a
    # generated 30k-mentor programme 0.8384 at 128 and 96 against 0.8378 at 256, for 1.5 ms
    # per search at 100k instead of 2.3
    hnsw_ef_search: int = 128
    retrieval_candidates: int = Field(
        default=100,
        description="First-stage slots per request: the candidates the ranker re-scores (with a "
        "ranker compiled to lookup tables, the ranked cut keeps 60% of them from a pool of ~2x; "
        "docs/retrieval.md).",
    )
    first_stage: Literal["blend", "cosine"] = Field(
        default="blend",
        description="How the candidates are chosen: `blend` (nearest by goal-bio cosine plus "
        "the best profile fits, cut by the ranker's own score without sentence matching, or "
        "by the cold-start prior without a trained ranker; docs/retrieval.md) or `cosine`.",
    )
    reason_attribution: Literal["path", "shap"] = Field(
        default="path",
        description="How reasons credit features: `path` (each tree's change of expected value "
        "along the decision path; lookup tables) or `shap` (LightGBM's TreeSHAP, which walks "
        "every tree of the five-fit ranker: for audits). Same totals and bias; the same first "
        "reason for 98.6% of mentors.",
    )
    learned_reserve: bool = Field(
        default=True,
        description="With a ranker that has a learned text space, the blend's reserved quarter "
        "is the nearest feasible mentors in that space (docs/retrieval.md); false keeps "
        "goal-bio cosine.",
    )
    learned_exact_max: int = Field(
        default=LEARNED_EXACT_MAX,
        ge=0,
        description="Catalogs up to this many mentors are searched exactly in the learned text "
        "space; larger ones through an inverted file (IVF, recall@50 about 0.99).",
    )

    @property
    def learned_search(self) -> int | None:
        """``learned_exact_max`` for the recommend pipeline, None when the reserve is off."""
        return self.learned_exact_max if self.learned_reserve else None

    # --- serving -----------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(
        default=1,
        ge=1,
        description="Serving processes (`recsys serve --workers`). Each loads its own models and "
        "catalogs, so memory grows N-fold; per-process: the in-flight limit, rate limits "
        "unless RECSYS_RATE_LIMIT_REDIS_URL is set, and when a write through the API becomes "
        "visible (the other workers apply it at their next data poll, "
        "RECSYS_DATA_POLL_SECONDS). Stored-mentee throughput is GIL-bound in one.",
    )
    max_request_bytes: int = 2_000_000
    rate_limit_per_minute: int = Field(
        default=1200,
        ge=1,
        description="Requests per minute per API key (token bucket, bursts up to as many); "
        "over it: 429 with Retry-After.",
    )
    rate_limit_redis_url: str | None = Field(
        default=None,
        description="Keep the rate-limit buckets in this Redis (e.g. redis://127.0.0.1:6379/0), "
        "shared by every --workers process and host, so the limit is per key, not per "
        "process. Unreachable Redis lets requests through (logged). Default: in process.",
    )
    recommend_threads: int = Field(
        default=2,
        ge=1,
        description="Threads answering recommendation requests in the service (read-only work; "
        "all other model work stays on the one model thread).",
    )
    encode_threads: int = Field(
        default=2,
        ge=0,
        description="Threads encoding inline mentees' goals before a recommendation thread "
        "takes the request (0: the recommendation thread encodes).",
    )
    max_inflight_recommendations: int = Field(
        default=32,
        ge=1,
        description="Recommendation requests in progress at once; more wait for a slot.",
    )
    recommend_queue_timeout_s: float = Field(
        default=2.0,
        ge=0.0,
        description="How long a recommendation request waits for a slot before the service "
        "answers 503 `overloaded` with Retry-After.",
    )
    capacity_decline_days: int = Field(
        default=CAPACITY_DECLINE_DAYS,
        ge=0,
        description="Days a mentor who declined a request with decline_reason no_capacity is "
        "treated as full (not recommended), or until one of their pairings ends; 0 trusts the "
        "stored capacity alone.",
    )
    inline_cache_entries: int = Field(
        default=8192,
        ge=0,
        description="Sentence vectors of inline mentee profiles kept in memory (never stored), "
        "so a profile sent again is not re-encoded; 0 encodes every request's text.",
    )
    model_poll_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How often the service checks the model registry for a moved @champion "
        "alias (and saves updated indexes).",
    )
    data_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often each serving process looks for writes it did not make itself "
        "(another --workers process, `recsys ingest` while serving): mentor row versions and "
        "the track-record stamp, ~11 ms at 100k mentors when nothing changed. A pairing or "
        "mentor written through one worker reaches the others within about this long plus the "
        "update (0.2-0.6 s at 100k).",
    )
    mentor_update_delay_s: float = Field(
        default=5.0,
        ge=0.0,
        description="Mentor writes through the API reach recommendations within about this "
        "long: writes in the window are applied to the loaded catalog as one update, off the "
        "request path (pairing writes are applied before the next request).",
    )

    served_list_retention_days: int | None = Field(
        default=None,
        ge=0,
        description="`recsys interactions prune` removes served lists older than N days of "
        "mentees who never answered a request nor were paired (training never uses them). "
        "Default: keep every list.",
    )

    # --- insights / alerts -------------------------------------------------
    alert_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    feedback_retention_days: int | None = Field(
        default=None, description="Purge raw feedback text older than N days (signals are kept)."
    )
    webhook_urls: list[str] = Field(default_factory=list)
    webhook_secret: str = ""
    slack_webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "recsys@localhost"
    alert_email_to: list[str] = Field(default_factory=list)

    # --- derived paths ------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'recsys.db').resolve()}"

    @property
    def resolved_mlflow_uri(self) -> str:
        import os

        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        if os.environ.get("MLFLOW_TRACKING_URI"):
            return os.environ["MLFLOW_TRACKING_URI"]
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def mlflow_artifact_dir(self) -> Path:
        return (self.home / "mlartifacts").resolve()

    @property
    def encoder_cache_dir(self) -> Path:
        import os

        if self.encoder_cache is not None:
            return self.encoder_cache.expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base).expanduser() / "recsys" / "encoders"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def models_dir(self) -> Path:
        """Local cache of model bundles downloaded from MLflow."""
        return self.home / "models"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
