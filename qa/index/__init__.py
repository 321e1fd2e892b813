"""The persisted store: vectors (Chroma), the lexical index, the sentence table, and the indexer that fills them."""
