"""Training a judge on make_traindata's output: SFT, RAFT and RAFT+CE objectives with transformers' Trainer.

verdict.py finds where a target states its verdict and what each label of the family's scale means;
examples.py tokenizes examples with the label trie of engines/scoring.py; batches.py packs them into rows;
raft.py is the loss; judge_trainer.py the Trainer subclass; run.py the run; evaluate.py (with the
correlations of llm_judge/stats.py) and report.py the before/after measurement on the test split.
"""
