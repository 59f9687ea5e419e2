"""The LLM judge shared by every judging stage (§4.1, Appendices C and D): its configuration
(`config`), prompts (`prompts`), HTTP client (`client`), answer cache (`cache`), verdict parsers
(`verdicts`) and judging loops (`judging`)."""
