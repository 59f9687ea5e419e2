"""Stage 00 (sample profile only): a tiny LLaMA-architecture base pretrained on the raw sample text."""
