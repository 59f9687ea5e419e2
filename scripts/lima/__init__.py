"""lima: the code the numbered scripts share, one module per concern.

Importing a module here has no side effects: no directories, no logging set-up, no device probes.
"""
