"""Answering: an index generation -> hits (retrieve) -> a cited answer, extractive (extract) or written
by a language model (llm) and checked against its passages (grounding); lc adapts it to LangChain."""
