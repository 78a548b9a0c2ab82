"""Evaluation: retrieval, answer and grading metrics (evaluate), the usual LangChain pipeline as a
baseline, external data sets (SciFact, QASPER) and the benchmark (bench)."""
