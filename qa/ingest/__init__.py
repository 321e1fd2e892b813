"""From a source to clean articles: files, feeds and pages read, near-duplicates found, chunks, translations."""
