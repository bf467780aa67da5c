"""Training a judge on make_traindata's output: SFT, RAFT and RAFT+CE objectives with transformers' Trainer.

verdict.py finds where a target states its verdict and what each label of the family's scale means;
examples.py tokenizes examples with the label trie of engines/scoring.py; batches.py packs them into rows;
raft.py is the loss; trainer.py the Trainer subclass and the run; evaluate.py and metrics.py the
before/after measurement on the test split.
"""
