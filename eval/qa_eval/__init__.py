"""Evaluation: the gold set, fresh articles, SQuAD 2.0 and XQuAD through the public API (`qa eval`)."""
