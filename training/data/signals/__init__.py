"""Signal-miner corpus: fragments, composer and the generated JSONL files."""
