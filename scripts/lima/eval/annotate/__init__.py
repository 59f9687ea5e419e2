"""The human preference study (§4, Appendix C): items drawn from a run's generations and the
baselines' responses (and §6's whole conversations from `make dialogue`), a label store that several
browsers append to at once, a small local web page to label with, a CSV round trip for crowd
platforms, and the summary (win/tie/loss per baseline, Fail/Pass/Excellent, better/tie/worse over
conversations, tie-discounted agreement between annotators and with the judge).

Modules: `study` (items, assignment, names), `labels` (the append-only store), `server` (the page),
`crowd` (CSV export/import), `summary` (the figures and the report fragment). The page's HTML, script
and style sheet are package data under `static/`.
"""
