# The paper's run: real dumps under data/raw/ (or paths given on the command line), Table 1's
# quotas, the paper's hyperparameters. The scripts' argparse defaults hold the paper's values, so
# this file names inputs and repeats no number.

# One <site>.7z per Stack Exchange site (or extracted <site>/Posts.xml folders).
SE_DUMPS ?= data/raw/stackexchange
SE_STEM_QUOTA ?= 200
SE_OTHER_QUOTA ?= 200
