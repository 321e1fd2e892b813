"""The ground every stage stands on: typed results, errors, settings, language data and text tools, prompts."""
