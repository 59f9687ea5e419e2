"""§5's ablations (diversity, quality, quantity: the data draws in `draws`, figures and report in
`report`) and Appendix E's format-constraint ablation (`format`)."""
