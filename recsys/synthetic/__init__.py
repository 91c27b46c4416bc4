"""Synthetic mentoring programmes with a known latent truth (``recsys demo-data``).

See docs/demo-data.md for the latent compatibility model.
"""

from recsys.synthetic.generator import GenerationSummary, generate_programme
from recsys.synthetic.ground_truth import GroundTruth, load_ground_truth

__all__ = ["GenerationSummary", "GroundTruth", "generate_programme", "load_ground_truth"]
