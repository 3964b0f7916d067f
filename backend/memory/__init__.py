"""Memory: the embeddings cache, the vector index, items and candidates (SPEC §7)."""
