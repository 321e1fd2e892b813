"""The answer stage: question, evidence, reader, checks, decide, draft, verify and cite."""
