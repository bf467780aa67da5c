"""Judge meta-evaluation: how well a judge's pairwise verdicts agree with human labels (or another judge).

    pairs.py        the labelled pair a judge is scored on, built from a dataset sample
    loaders.py      labelled sets (PandaLM, LLMBar, Auto-J, MT-bench human judgments, JudgeLM, our JSONL),
                    read through llm_judge.datasets
    predictions.py  a judge's stored verdicts in the sets' published output formats, and in FastChat's
    metrics.py      agreement, consistency, position preference, precision/recall/F1, kappa (pure functions)
    run.py          run any judge the harness supports over a set, in both orders, resumably
    report.py       metrics as tables
"""
