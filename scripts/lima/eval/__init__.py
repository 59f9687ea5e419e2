"""Stages 06-07 and the experiments: generation, the judge, metrics, checkpoint selection, reports (§4-§6)."""
