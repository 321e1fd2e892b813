"""Hybrid retrieval over the store: dense and lexical recall fused, filtered."""
