"""API engines: OpenAI, Anthropic and OpenAI-compatible servers on their SDKs, with retries and cost."""
