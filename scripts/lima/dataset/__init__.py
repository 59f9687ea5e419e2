"""Stage 04: the data contract and the assembly of train/dev/test from the sources (Table 1)."""
