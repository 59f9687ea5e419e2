# Embedded default: small raw samples shipped in data/sample/, a tiny model, 2 CPU cores, <= 10 min.
# Only what differs from the paper profile is here, each with its reason.

# Inputs: the samples we ship, in the real dump formats.
SE_DUMPS ?= data/sample/stackexchange
# Table 1 asks 200 + 200; the sample sites hold a few dozen qualifying pairs.
SE_STEM_QUOTA ?= 8
SE_OTHER_QUOTA ?= 8
