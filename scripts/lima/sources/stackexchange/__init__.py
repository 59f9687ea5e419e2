"""Stage 01: Stack Exchange dumps -> title-only questions with their top answer (§2.1)."""
