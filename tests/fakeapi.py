"""A loopback HTTP server that speaks OpenAI's chat-completions and Anthropic's Messages wire protocols.

Tests and benchmarks point the real ``openai`` / ``anthropic`` SDKs at it. It answers every request
after a latency (fixed, or log-normal around a median, drawn from a hash of the prompt so that every
run gives each prompt the same latency) with a deterministic judge-like reply ("Rating: [[k]]" or "[[A]]"), checks the
API key (``Authorization: Bearer`` or ``x-api-key``), and injects faults: 429 with Retry-After, 500,
hangs (never answers), dropped connections, or any status a test scripts. Faults are drawn from a
seeded hash of (request content, attempt number), so a run sees the same faults whatever the order
in which its requests arrive. It also speaks both batch protocols (``api.batches``, see fakebatch.py).

In a test:   ``with FakeAPI(latency=0.05, p429=0.05) as api: ... api.openai_base ... api.stats``
As a process (benchmarks):  ``python tests/fakeapi.py --latency 0.5 --p429 0.05 --p500 0.02 [--latency-sigma 0.5]``
prints ``listening http://127.0.0.1:PORT`` and serves until killed.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import parse_qs

from fakeroutes import auth_problem, request_problem, route

from fakebatch import FakeBatches

# A fault: "429", "500", "hang", "drop", or any other HTTP status code as a string (e.g. "400", "529").
Fault = str
FaultFn = Callable[[dict, int], "Fault | None"]  # (request body, attempt number from 1) -> fault or None
ReplyFn = Callable[[dict, str], str]  # (request body, prompt text) -> reply text
# (request body, reply text) -> the reply's tokens as logprobs.content entries (see token_entries); None: no log-probs
LogprobsFn = Callable[[dict, str], "list[dict] | None"]
Token = tuple  # (token text, its logprob, [(alternative text, logprob), ...])

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable", 529: "Overloaded"}


@dataclass
class Stats:
    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    by_path: dict[str, int] = field(default_factory=dict)
    auth_styles: set[str] = field(default_factory=set)  # "bearer", "x-api-key", "api-key" (Azure), "sigv4"
    in_flight: int = 0
    max_in_flight: int = 0
    first_request: float | None = None  # time.time() of the first request line
    last_response: float | None = None
    slept: float = 0.0  # seconds of latency served to the calls answered 200, in total
    longest: float = 0.0  # the longest of those latencies
    prompts: list[str] = field(default_factory=list)  # prompt text of each request answered 200
    bodies: list[dict] = field(default_factory=list)  # the body of each request answered 200
    queries: list[str] = field(default_factory=list)  # the query string of each request answered 200

    def count(self, status: int) -> int:
        return self.by_status.get(status, 0)


def use_keys(monkeypatch, key: str, *names: str) -> None:
    """API keys for the SDKs (OpenAI's and Anthropic's, and ``names``), and no base URL from the environment,
    so a test talks to its own FakeAPI only."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", *names):
        monkeypatch.setenv(name, key)
    for var in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


def prompt_text(body: dict) -> str:
    """All message text of a request, system prompt included, in order."""
    parts = []
    system = body.get("system")
    if isinstance(system, str):
        parts.append(system)
    elif isinstance(system, list):
        parts += [b.get("text", "") for b in system if isinstance(b, dict)]
    for m in body.get("messages") or []:
        content = m.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [b.get("text", "") for b in content if isinstance(b, dict)]
    return "\n".join(parts)


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def answer_or_judge(body: dict, text: str) -> str:
    """Judge prompts get a verdict (judge_reply); questions get an answer that names the model, so answers differ."""
    if "[[" in text:
        return judge_reply(body, text)
    return f"{body['model']} answers: {text[-30:]}"


# A pairwise judge prompt (a --judge-file line) whose answers the reply below can find again, and that reply:
# the longer answer wins, equal lengths tie. Judges whose preference is known make hand-computed results.
PAIR_PROMPT = {"name": "pair-v2", "type": "pairwise", "output_format": "[[A]]",
               "system_prompt": "Pick the better reply. End with [[A]], [[B]] or [[C]] for a tie.",
               "prompt_template": "Question: {question}\n<A>\n{answer_a}\n</A>\n<B>\n{answer_b}\n</B>"}
_PAIR_REPLY = re.compile(r"<A>\n(.*)\n</A>\n<B>\n(.*)\n</B>", re.DOTALL)


def longer_wins(body: dict, text: str) -> str:
    a, b = _PAIR_REPLY.search(body["messages"][-1]["content"]).groups()
    return "Judged. " + ("[[A]]" if len(a) > len(b) else "[[B]]" if len(b) > len(a) else "[[C]]")


def judge_reply(body: dict, text: str) -> str:
    """A verdict that depends only on the prompt: [[A]]/[[B]]/[[C]] for pairwise prompts, else a rating."""
    h = _digest(text)
    if "[[A]]" in text:
        return f"Both replies were compared. Verdict: [[{'ABC'[h % 3]}]]"
    return f"The reply was assessed. Rating: [[{1 + h % 10}]]"


def _apply_stop(reply: str, body: dict) -> tuple[str, str | None]:
    """The reply cut before its first stop sequence, which is left out as both providers do; and that sequence."""
    stops = body.get("stop") or body.get("stop_sequences") or []
    stops = [stops] if isinstance(stops, str) else stops
    hits = [(reply.find(s), s) for s in stops if s in reply]
    if not hits:
        return reply, None
    at, matched = min(hits)
    return reply[:at], matched


def token_entries(tokens: "list[Token]") -> list[dict]:
    """OpenAI's ``logprobs.content`` for scripted tokens, each alternative's ``bytes`` included as OpenAI sends them."""
    def entry(text: str, logprob: float) -> dict:
        return {"token": text, "logprob": logprob, "bytes": list(text.encode("utf-8"))}

    return [{**entry(text, lp), "top_logprobs": [entry(t, p) for t, p in top]} for text, lp, top in tokens]


def random_faults(p429: float = 0.0, p500: float = 0.0, phang: float = 0.0, pdrop: float = 0.0,
                  seed: int = 0) -> FaultFn:
    """Each attempt independently fails with the given probabilities, drawn from (seed, content, attempt)."""

    def fault(body: dict, attempt: int) -> Fault | None:
        x = random.Random(f"{seed}:{_digest(prompt_text(body))}:{attempt}").random()
        for p, kind in ((p429, "429"), (p500, "500"), (phang, "hang"), (pdrop, "drop")):
            if x < p:
                return kind
            x -= p
        return None

    return fault


class FakeAPI:
    """The server; ``start()`` runs it on its own event loop in a daemon thread."""

    def __init__(self, *, latency: float = 0.0, api_key: str | None = "sk-test-key", faults: FaultFn | None = None,
                 p429: float = 0.0, p500: float = 0.0, phang: float = 0.0, pdrop: float = 0.0, seed: int = 0,
                 retry_after: float = 1.0, reply: ReplyFn = judge_reply, port: int = 0, keep_prompts: bool = True,
                 aws: tuple[str, str] | None = None, reasoning: str | None = None, reasoning_apart: bool = False,
                 logprobs: LogprobsFn | None = None, latency_sigma: float = 0.0):
        self.latency = latency  # the median latency; every call's when latency_sigma is 0
        self.latency_sigma = latency_sigma  # sigma of the log of the latency (a log-normal around the median)
        self.api_key = api_key
        self.aws = aws  # (access key id, secret key) that Bedrock's SigV4 signatures must be made with
        # A reasoning model's thinking, sent apart from the reply (OpenAI-compatible reasoning_content and
        # reasoning_tokens; Anthropic thinking blocks when the request enables thinking). reasoning_apart: the
        # reasoning tokens are counted outside completion_tokens (Gemini), else inside (OpenAI).
        self.reasoning = reasoning
        self.reasoning_apart = reasoning_apart
        self.faults = faults or random_faults(p429, p500, phang, pdrop, seed)
        self.retry_after = retry_after
        self.reply = reply
        self.logprobs = logprobs  # answers requests with "logprobs": true; None: such requests get none
        self.port = port
        self.keep_prompts = keep_prompts
        self.stats = Stats()
        self._attempts: dict[int, int] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.batches = FakeBatches(self)  # OpenAI's Batch API and Anthropic's Message Batches

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base(self) -> str:
        return self.url + "/v1"

    def base_for(self, provider: str) -> str:
        """The ``--api-base`` a provider's SDK is pointed at: OpenAI's path carries /v1, Anthropic's does not."""
        return self.openai_base if provider == "openai" else self.url

    def start(self) -> "FakeAPI":
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=4096))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fakeapi", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown() -> None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:  # hung requests sleep for an hour: end them
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(shutdown()))
        self._thread.join(10)
        self._loop = None

    def __enter__(self) -> "FakeAPI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = Stats()

    # -- HTTP ------------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                keep = await self._handle(method, path, headers, body, writer)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _handle(self, method: str, target: str, headers: dict[str, str], raw: bytes,
                      writer: asyncio.StreamWriter) -> bool:
        path, _, query = target.partition("?")
        r = route(path)
        protocol = r.protocol if r else "openai"
        with self._lock:
            s = self.stats
            s.requests += 1
            s.by_path[path] = s.by_path.get(path, 0) + 1
            s.first_request = s.first_request or time.time()
            s.in_flight += 1
            s.max_in_flight = max(s.max_in_flight, s.in_flight)
        try:
            if method == "POST" and path == "/token":
                return await self._send_token(writer, raw)
            if self.batches.serves(path):  # the batch protocols (fakebatch.py)
                if self.api_key is not None and not self._authorised(headers):
                    return await self._send_error(writer, 401, protocol, "invalid API key")
                status, out, ctype = self.batches.handle(method, path, headers, raw)
                if self.batches.stalls(method, path):
                    await asyncio.sleep(3600)
                    return False
                return await self._send(writer, status, out, content_type=ctype)
            if method != "POST" or r is None:
                return await self._send_error(writer, 404, protocol, f"no route {method} {path}")
            if self.api_key is not None:
                problem = auth_problem(r, method, f"http://{headers.get('host', '')}{target}", headers, raw,
                                       self.api_key, self.aws, self.stats.auth_styles)
                if problem:
                    return await self._send_error(writer, 401 if "credentials" in problem else 403, protocol, problem)
            try:
                body = json.loads(raw)
            except ValueError:
                return await self._send_error(writer, 400, protocol, "body is not JSON")
            problem = request_problem(r, query, body)
            if problem:
                return await self._send_error(writer, 400, protocol, problem)
            text = prompt_text(body)
            with self._lock:
                key = _digest(text)
                attempt = self._attempts[key] = self._attempts.get(key, 0) + 1
            fault = self.faults(body, attempt)
            latency = self.latency_of(key)
            if fault == "hang":
                await asyncio.sleep(3600)
                return False
            if fault == "drop":
                await asyncio.sleep(latency / 2)
                writer.transport.abort()
                return False
            if fault == "429":
                return await self._send_error(writer, 429, protocol, "rate limit reached",
                                              {"retry-after": f"{self.retry_after:g}"})
            await asyncio.sleep(latency)
            if fault is not None:
                return await self._send_error(writer, int(fault), protocol, f"injected {fault}")
            with self._lock:
                self.stats.slept += latency
                self.stats.longest = max(self.stats.longest, latency)
            return await self._send(writer, 200, self.complete(protocol, body, text, r.model, query))
        finally:
            with self._lock:
                self.stats.in_flight -= 1

    def latency_of(self, key: int) -> float:
        """The latency of the prompt whose digest is ``key``: the median times exp(sigma·z), z a standard normal
        drawn from the digest, so a prompt waits the same in every run whatever the order of the calls."""
        if not self.latency_sigma:
            return self.latency
        return self.latency * math.exp(self.latency_sigma * random.Random(key).gauss(0.0, 1.0))

    def complete(self, protocol: str, body: dict, text: str | None = None, path_model: str | None = None,
                 query: str = "") -> dict:
        """The 200 reply in the protocol's format (a live call's, or one request's of a batch), with the
        thinking and its tokens of a reasoning model."""
        text = prompt_text(body) if text is None else text
        key = _digest(text)
        if self.keep_prompts:
            with self._lock:
                self.stats.prompts.append(text)
                self.stats.bodies.append(body)
                self.stats.queries.append(query)
        reply, matched = _apply_stop(self.reply(body, text), body)
        usage_in, usage_out = max(1, len(text) // 4), max(1, len(reply) // 4)
        thought = max(1, len(self.reasoning) // 4) if self.reasoning else 0
        model = body.get("model") or path_model or "model"
        if protocol == "anthropic":
            content = [{"type": "text", "text": reply}]
            if self.reasoning and (body.get("thinking") or {}).get("type") == "enabled":
                content.insert(0, {"type": "thinking", "thinking": self.reasoning, "signature": "c2lnbmF0dXJl"})
                usage_out += thought  # Anthropic counts thinking in output_tokens
            return {"id": f"msg_{key:x}", "type": "message", "role": "assistant", "model": model, "content": content,
                    "stop_reason": "stop_sequence" if matched else "end_turn", "stop_sequence": matched,
                    "usage": {"input_tokens": usage_in, "output_tokens": usage_out}}
        message = {"role": "assistant", "content": reply}
        usage = {"prompt_tokens": usage_in, "completion_tokens": usage_out + (0 if self.reasoning_apart else thought),
                 "total_tokens": usage_in + usage_out + thought}
        if self.reasoning:
            message["reasoning_content"] = self.reasoning
            usage["completion_tokens_details"] = {"reasoning_tokens": thought}
        tokens = self.logprobs(body, reply) if body.get("logprobs") and self.logprobs else None
        return {"id": f"chatcmpl-{key:x}", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "finish_reason": "stop", "message": message,
                             "logprobs": {"content": tokens} if tokens is not None else None}],
                "usage": usage}

    async def _send_token(self, writer: asyncio.StreamWriter, raw: bytes) -> bool:
        """Google's OAuth token endpoint for a service account: a signed JWT in, the access token (our key) out."""
        form = parse_qs(raw.decode("utf-8"))
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"] or not form.get("assertion"):
            return await self._send(writer, 400, {"error": "invalid_grant"})
        return await self._send(writer, 200, {"access_token": self.api_key, "expires_in": 3600, "token_type": "Bearer"})

    def _authorised(self, headers: dict[str, str]) -> bool:
        bearer = headers.get("authorization", "")
        if bearer == f"Bearer {self.api_key}":
            self.stats.auth_styles.add("bearer")
            return True
        if headers.get("x-api-key") == self.api_key:
            self.stats.auth_styles.add("x-api-key")
            return True
        return False

    async def _send_error(self, writer: asyncio.StreamWriter, status: int, protocol: str, message: str,
                          extra_headers: dict[str, str] | None = None) -> bool:
        kind = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 429: "rate_limit_error"}.get(status, "api_error")
        if protocol == "anthropic":
            out = {"type": "error", "error": {"type": kind, "message": message}}
        else:
            out = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        return await self._send(writer, status, out, extra_headers)

    async def _send(self, writer: asyncio.StreamWriter, status: int, obj: dict | bytes,
                    extra_headers: dict[str, str] | None = None, content_type: str = "application/json") -> bool:
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode("utf-8")
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"content-type: {content_type}",
                f"content-length: {len(data)}", "connection: keep-alive"]
        head += [f"{k}: {v}" for k, v in (extra_headers or {}).items()]
        with self._lock:  # counted before sending, so a client that has its answer sees it counted
            self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
            self.stats.last_response = time.time()
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        await writer.drain()
        return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="fake OpenAI/Anthropic server for benchmarks")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency", type=float, default=0.5, help="seconds per call (the median with --latency-sigma)")
    p.add_argument("--latency-sigma", type=float, default=0.0, help="log-normal latencies: sigma of their log")
    p.add_argument("--api-key", default="sk-test-key")
    p.add_argument("--p429", type=float, default=0.0)
    p.add_argument("--p500", type=float, default=0.0)
    p.add_argument("--retry-after", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stats-file", default=None, help="write stats as JSON here on SIGTERM/SIGINT")
    p.add_argument("--aws", nargs=2, default=None, metavar=("KEY_ID", "SECRET"),
                   help="the AWS key pair Bedrock requests must be signed with")
    p.add_argument("--reasoning", default=None, help="a reasoning model's thinking, sent apart from each reply")
    p.add_argument("--batch-delay", type=float, default=0.0, help="seconds a batch takes to complete")
    args = p.parse_args(argv)
    try:  # a faster event loop keeps the server from being the bottleneck of a benchmark
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    api = FakeAPI(latency=args.latency, latency_sigma=args.latency_sigma, api_key=args.api_key, p429=args.p429,
                  p500=args.p500, seed=args.seed, retry_after=args.retry_after, port=args.port, keep_prompts=False,
                  aws=tuple(args.aws) if args.aws else None, reasoning=args.reasoning).start()
    api.batches.delay = args.batch_delay
    print(f"listening {api.url}", flush=True)
    import signal

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    api.stop()
    if args.stats_file:
        s = api.stats
        with open(args.stats_file, "w") as fh:
            json.dump({"requests": s.requests, "by_status": s.by_status, "max_in_flight": s.max_in_flight,
                       "first_request": s.first_request, "last_response": s.last_response, "slept": s.slept,
                       "longest": s.longest,
                       "cpu_seconds": time.process_time()}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
