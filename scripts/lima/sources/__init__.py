"""The raw sources of Table 1: Stack Exchange, wikiHow, Reddit (Pushshift) and Super-NaturalInstructions."""
