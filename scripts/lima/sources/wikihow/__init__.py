"""Stage 02: wikiHow articles, crawled politely into a cache and parsed (§2.1)."""
