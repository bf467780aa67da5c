"""llm_judge: benchmark chat models with LLM judges (FastChat llm_judge-compatible files)."""

__version__ = "0.1.0"
