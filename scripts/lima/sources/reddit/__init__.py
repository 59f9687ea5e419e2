"""Stage 03: Pushshift Reddit dumps -> r/WritingPrompts stories and r/AskReddit questions (§2.1)."""
