"""Judge-training data: many published judgment datasets -> one record type -> LLaMA-Factory files.

    convert/     sources as :class:`JudgeRecord`: published datasets (read by llm_judge.datasets),
                 judgment files, make_traindata's own records
    record.py    the unified record (instruction, responses, label or score, rationale, ...)
    rationale.py text edits on rationales: strip the source's verdict marker, rename or swap positions
    augment.py   de-duplication, split by question, swap augmentation, reference drop
    formats.py   rendering a record as chat messages with a judge prompt (ours, or a judge family's)
    llamafactory.py  the OpenAI-``messages`` files, ``dataset_info.json`` merge and the training YAML
    summary.py   per-source counts, label balance and lengths
    finetune.py  a short LoRA / full fine-tuning run with transformers + peft (no LLaMA-Factory needed)
    pipeline.py  build(): sources in, files out

The command line is :mod:`llm_judge.make_traindata`.
"""
