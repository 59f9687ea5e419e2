"""§3's checkpoint choice between epochs 5 and 10 on the dev set (stage 07: `choose`) and Appendix B,
perplexity against generation quality per epoch (`ppl_quality`; its figure and table: `appendix_b`)."""
