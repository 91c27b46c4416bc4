"""MLflow pyfunc wrappers for bundles that have no native MLflow flavour (the spaCy signal
pipeline, the risk model). Registered so the registry holds every model kind the same way;
serving itself loads the bundle directory directly (see ``training.tracking.download_bundle``).
"""

from __future__ import annotations

from typing import Any

from mlflow.pyfunc import PythonModel


class SignalMinerPyfunc(PythonModel):  # type: ignore[misc]
    """Input: a DataFrame with a ``text`` column. Output: one list of signals per row."""

    def load_context(self, context: Any) -> None:
        from pathlib import Path

        from models.signals import SignalMiner

        self.miner = SignalMiner.load(Path(context.artifacts["bundle"]))

    def predict(
        self, context: Any, model_input: Any, params: Any = None
    ) -> list[list[dict[str, Any]]]:
        texts = [str(t) for t in model_input["text"]]
        return [
            [{"label": s.label, "score": s.score, "evidence": s.evidence} for s in found]
            for found in self.miner.analyze(texts)
        ]


class RiskModelPyfunc(PythonModel):  # type: ignore[misc]
    """Input: a DataFrame of risk features. Output: P(ends early) per row."""

    def load_context(self, context: Any) -> None:
        from pathlib import Path

        from models.risk import RiskModel

        self.model = RiskModel.load(Path(context.artifacts["bundle"]))

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return self.model.predict_proba(model_input)
