"""Generation with the paper's decoding (§4.1), shared by stages 06, 07 and the experiments:
the decode loop (`generate`), reuse of a generation file while nothing it depends on changed (`reuse`),
and the automatic metrics of a generation file (`metrics`)."""
