"""Engines: every model behind one interface (base.ChatModel), local (transformers, vLLM, a Ray pool) and API."""
