"""Data shipped with the training pipelines."""
