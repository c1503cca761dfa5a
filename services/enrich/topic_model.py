"""The learned IPTC Media Topic classifier: top-level topics a desk editor
would accept, in every language we read.

A linear model over hashed word and character n-grams (scikit-learn's
``HashingVectorizer``: nothing to fit, the same features for any language
and script), multinomial logistic regression trained with SGD, and one
temperature that calibrates its probabilities (fitted on a held-out part of
the training data, so a 0.8 is right about 80% of the time there).

A model is a file of arrays (``numpy.savez_compressed``, read with
``allow_pickle=False``: a model file can hold no code): the weights, the
classes, the temperature, the feature settings and its provenance (data,
counts, seed, date, versions). :func:`load_model` refuses a file of another
format, with other feature settings than this code computes, or whose arrays
do not fit each other, with a :class:`ModelError` that says why; the stage
then keeps the model it had (or the rules alone).

Training (:func:`train`) is seeded and reproducible; the corpus and labels
are built by ``services.enrich.topic_corpus``; ``wirestream topics train``
and ``evaluate`` drive it.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from shared.errors import ConfigError

__all__ = [
    "FEATURES",
    "MODEL_FORMAT",
    "ModelError",
    "TopicModel",
    "TopicModelFile",
    "cross_validate",
    "document_text",
    "featurize",
    "load_model",
    "save_model",
    "train",
]

MODEL_FORMAT = 1
# The feature settings a model was trained with must be these: a model is
# refused otherwise (the weights would be read against other features).
FEATURES: dict[str, Any] = {
    "word_ngrams": [1, 2],
    "char_ngrams": [3, 5],
    "word_bits": 18,
    "char_bits": 18,
    "text_chars": 1500,
}


log = logging.getLogger(__name__)


class ModelError(ConfigError):
    """A topic model file that cannot be used (missing, corrupt, another
    format or other features)."""


def document_text(headline: str | None, summary: str | None, body: str | None) -> str:
    """What the model reads of a story: the headline twice (it says what the
    story is about), the summary, and the start of the body, at most
    ``text_chars`` characters in all (what a story is about shows early,
    and the cost per story stays bounded)."""
    parts = [p.strip() for p in (headline, headline, summary, body) if p and p.strip()]
    return "\n".join(parts)[:FEATURES["text_chars"]]


_VECTORIZERS: list[Any] = []


def _vectorizers() -> list[Any]:
    if not _VECTORIZERS:
        from sklearn.feature_extraction.text import HashingVectorizer

        _VECTORIZERS.extend([
            HashingVectorizer(analyzer="word", ngram_range=tuple(FEATURES["word_ngrams"]),
                              n_features=2 ** FEATURES["word_bits"], alternate_sign=False,
                              norm=None, lowercase=True, token_pattern=r"(?u)\b\w+\b"),
            HashingVectorizer(analyzer="char_wb", ngram_range=tuple(FEATURES["char_ngrams"]),
                              n_features=2 ** FEATURES["char_bits"], alternate_sign=False,
                              norm=None, lowercase=True),
        ])
    return _VECTORIZERS


def featurize(texts: Sequence[str]) -> sparse.csr_matrix:
    """Hashed word 1-2-grams and character 3-5-grams of each text, counts
    damped (log 1 + n) and each block scaled to unit length."""
    blocks = []
    for vectorizer in _vectorizers():
        counts = vectorizer.transform(texts).astype(np.float32)
        counts.data = np.log1p(counts.data)
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        blocks.append(sparse.diags((1.0 / norms).astype(np.float32)) @ counts)
    return sparse.hstack(blocks, format="csr")


@dataclass(frozen=True)
class TopicModel:
    classes: tuple[str, ...]  # Media Topic codes, one per row of coef
    coef: np.ndarray  # (classes, features) float32
    intercept: np.ndarray  # (classes,) float32
    temperature: float = 1.0
    provenance: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated class probabilities, one row per text."""
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        logits = featurize(texts) @ self.coef.T + self.intercept
        logits = np.asarray(logits, dtype=np.float64) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        out: np.ndarray = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
        return out

    def ranked(self, text: str, limit: int = 3) -> list[tuple[str, float]]:
        """The ``limit`` likeliest topics of one text, best first."""
        row = self.probabilities([text])[0]
        order = np.argsort(-row)[:limit]
        return [(self.classes[i], float(row[i])) for i in order]


def save_model(model: TopicModel, path: Path) -> None:
    """Write ``model`` to ``path`` atomically (a worker reading it meanwhile
    sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": MODEL_FORMAT, "features": FEATURES, "classes": list(model.classes),
            "temperature": model.temperature, "provenance": model.provenance}
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        np.savez_compressed(handle, coef=model.coef.astype(np.float32),
                            intercept=model.intercept.astype(np.float32),
                            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    tmp.replace(path)


def load_model(path: Path) -> TopicModel:
    """Read a model file, or raise :class:`ModelError` saying what is wrong."""
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            coef, intercept = data["coef"], data["intercept"]
            meta = json.loads(bytes(data["meta"]).decode())
    except FileNotFoundError as exc:
        raise ModelError(f"topic model {path}: no such file (wirestream topics train "
                         "builds one)") from exc
    except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError,
            zipfile.BadZipFile) as exc:
        raise ModelError(f"topic model {path}: not a readable model file ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise ModelError(f"topic model {path}: format {meta.get('format')!r}, this "
                         f"version reads format {MODEL_FORMAT} (retrain it)")
    if meta.get("features") != FEATURES:
        raise ModelError(f"topic model {path}: trained on other features "
                         f"({meta.get('features')!r}); retrain it")
    classes = meta.get("classes")
    width = 2 ** FEATURES["word_bits"] + 2 ** FEATURES["char_bits"]
    if (not isinstance(classes, list) or not classes or coef.dtype != np.float32
            or coef.shape != (len(classes), width) or intercept.shape != (len(classes),)
            or not np.isfinite(coef).all() or not np.isfinite(intercept).all()):
        raise ModelError(f"topic model {path}: its arrays do not fit its classes "
                         f"(coef {coef.shape}, {len(classes or [])} classes)")
    temperature = float(meta.get("temperature", 1.0))
    if not temperature > 0:
        raise ModelError(f"topic model {path}: temperature {temperature} is not positive")
    return TopicModel(tuple(str(c) for c in classes), coef, intercept, temperature,
                      dict(meta.get("provenance") or {}))


def train(texts: Sequence[str], labels: Sequence[str], seed: int = 0,
          calibration_share: float = 0.1, provenance: dict[str, Any] | None = None
          ) -> TopicModel:
    """A model of ``texts`` labelled with Media Topic codes: SGD logistic
    regression on :func:`featurize`; the temperature is fitted on a
    stratified ``calibration_share`` held out, then the weights are trained
    on everything. Deterministic for a seed."""
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import train_test_split

    features = featurize(texts)
    y = np.asarray(labels)
    fit_idx, cal_idx = train_test_split(np.arange(len(y)), test_size=calibration_share,
                                        random_state=seed, stratify=y)

    def fitted(rows: np.ndarray) -> Any:
        model = SGDClassifier(loss="log_loss", alpha=2e-6, max_iter=50, tol=1e-4,
                              random_state=seed, average=True)
        return model.fit(features[rows], y[rows])

    probe = fitted(fit_idx)
    temperature = _temperature(probe.decision_function(features[cal_idx]),
                               np.searchsorted(probe.classes_, y[cal_idx]))
    final = fitted(np.arange(len(y)))
    return TopicModel(tuple(str(c) for c in final.classes_),
                      final.coef_.astype(np.float32), final.intercept_.astype(np.float32),
                      temperature, dict(provenance or {}))


def cross_validate(examples: Sequence[Any], folds: int = 5, seed: int = 0
                   ) -> dict[str, Any]:
    """Accuracy of :func:`train` on each fold of ``examples``
    (services.enrich.topic_corpus.Example; fold by a hash of the text),
    trained on the others; overall and per language."""
    from services.enrich.topic_corpus import fold_of

    fold = np.array([fold_of(e.text, folds) for e in examples])
    truth = np.array([e.topic for e in examples])
    languages = np.array([e.language for e in examples])
    predicted = np.empty(len(examples), dtype=object)
    for k in range(folds):
        held = np.flatnonzero(fold == k)
        kept = np.flatnonzero(fold != k)
        model = train([examples[int(i)].text for i in kept], truth[kept].tolist(), seed=seed)
        probabilities = model.probabilities([examples[int(i)].text for i in held])
        predicted[held] = np.asarray(model.classes, dtype=object)[probabilities.argmax(axis=1)]
    right = predicted == truth
    return {"folds": folds, "seed": seed, "examples": len(examples),
            "accuracy": round(float(right.mean()), 4),
            "languages": {str(lang): {"examples": int((languages == lang).sum()),
                                      "accuracy": round(float(right[languages == lang].mean()),
                                                        4)}
                          for lang in sorted(set(languages.tolist()))}}


def _temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of the
    held-out labels (a one-parameter search on a log grid, then refined)."""
    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(truth)), truth].mean())

    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 60))
    best = float(min(grid, key=nll))
    fine = np.linspace(best * 0.8, best * 1.25, 30)
    return round(float(min(fine, key=nll)), 4)


class TopicModelFile:
    """The model a worker uses, read from ``path`` at start and again when
    the file changes (its modification time or size, looked at no more
    often than every ``check_seconds``): a new model is swapped in without a
    restart. A file that cannot be used (:class:`ModelError`) is logged and
    the model in use stays (none at start: the rules decide alone)."""

    def __init__(self, path: Path, check_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.check_seconds = check_seconds
        self._clock = clock
        self._model: TopicModel | None = None
        self._stamp: tuple[int, int] | None = (-1, -1)  # never looked
        self._checked = float("-inf")
        self.error: str | None = None
        self.current()

    def current(self) -> TopicModel | None:
        now = self._clock()
        if now - self._checked < self.check_seconds:
            return self._model
        self._checked = now
        try:
            info = os.stat(self.path)
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = None
        if stamp == self._stamp:
            return self._model
        try:
            model = load_model(self.path)
        except ModelError as exc:
            if self.error != str(exc):
                log.warning("%s; keeping %s", exc, "the model in use" if self._model
                            else "the rules alone")
            self.error = str(exc)
            self._stamp = stamp
            return self._model
        self._model, self._stamp, self.error = model, stamp, None
        log.info("topic model %s loaded: %s", self.path,
                 model.provenance.get("trained_at", "no provenance"))
        return model
