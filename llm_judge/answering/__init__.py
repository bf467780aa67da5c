"""Step 1: answering a bench's questions with any engine, each answer written once."""
