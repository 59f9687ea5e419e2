"""Stage 05: supervised fine-tuning under torchrun + FSDP2 with the paper's recipe (§3)."""
