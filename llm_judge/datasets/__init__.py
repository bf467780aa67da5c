"""Readers of published judge datasets, shared by meta-evaluation (metaeval/) and training data (traindata/).

    rows.py           Row: one record of a JSON array or JSONL file, typed field access, one-line errors
    sample.py         Sample: the one record every dataset is read into; verdicts "1" / "2" / "tie"
    pandalm.py        PandaLM test set (three annotators) and its judges' released outputs
    llmbar.py         LLMBar dataset.json files (a file or a folder of subsets)
    autoj.py          Auto-J pairwise test set and training data (single and pairwise)
    judgelm.py        JudgeLM-100K train / val files
    prometheus.py     Prometheus Feedback-Collection and its eval sets
    mtbench_human.py  MT-bench human judgments, grouped per pair as FastChat's compute_agreement does
    ours.py           our labelled pairwise JSONL
    judgebench.py     JudgeBench pairs (objective labels) and its judges' released outputs
    rmbench.py        RM-Bench items: chosen and rejected responses in three styles, nine pairs each

Each module reads its files once, translates the dataset's labels with its one label map, repairs the
dataset's known quirks (noted in ``Sample.quirks``) and raises InputError naming file, line and field.
"""
