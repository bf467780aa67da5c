"""The two batch protocols, each behind the same calls: entry, upload, submit, find, poll and results.

OpenAI's Batch API takes a JSONL file of requests uploaded through the Files API, runs it on one
endpoint, and leaves an output file and an error file; Anthropic's Message Batches take the requests in
the create call and stream one result per request. Both match results to requests by ``custom_id``.
Calls go through each SDK's synchronous client (a handful of calls per run; the SDK's own retries
handle a dropped connection or a 429 on them).
"""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any

# What a failed Anthropic request's error type means as an HTTP status (retry.classify_status decides on it).
_ANTHROPIC_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "permission_error": 403,
                     "not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429,
                     "api_error": 500, "overloaded_error": 529}
# OpenAI writes the requests an expired or cancelled batch never ran to its error file with these codes.
_OPENAI_UNRUN = ("batch_expired", "batch_cancelled")


@dataclass(frozen=True)
class Poll:
    status: str  # the provider's own word
    ended: bool
    outcome: str  # once ended: completed, expired, cancelled or failed (the batch itself was refused)
    counts: str  # the batch's own request counts, as shown in progress lines
    message: str = ""  # why a failed batch failed


@dataclass(frozen=True)
class ItemResult:
    """One request's fate in an ended batch: a response body, an error, or neither (it never ran)."""

    data: dict[str, Any] | None = None  # the body the live endpoint would have returned
    status: int | None = None  # HTTP status of a failed request
    message: str = ""

    @property
    def ran(self) -> bool:
        return self.data is not None or self.status is not None


def sync_client(sdk: str, key: str, api_base: str | None, max_retries: int, timeout: float) -> Any:
    module = importlib.import_module(sdk)
    cls = {"openai": "OpenAI", "anthropic": "Anthropic"}[sdk]
    return getattr(module, cls)(api_key=key, base_url=api_base, max_retries=max_retries, timeout=timeout)


class OpenAIBatches:
    name = "openai"
    max_requests = 50_000  # per batch, and 200 MB per input file: kept below both
    max_bytes = 190 * 1024 * 1024
    endpoint = "/v1/chat/completions"

    def __init__(self, client: Any):
        self.client = client
        self._files: dict[str, tuple[str | None, str | None]] = {}

    def entry(self, custom_id: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        # the provider posts to a path under its base URL (".../v1"); a batch line names the full path
        return {"custom_id": custom_id, "method": "POST", "url": "/v1" + path, "body": body}

    def upload(self, entries: list[dict[str, Any]]) -> str:
        """The input file's id: saved before the batch is created, so that a batch whose creation a kill
        interrupted can be found again (:meth:`find`)."""
        data = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries).encode("utf-8")
        return self.client.files.create(file=("requests.jsonl", data, "application/jsonl"), purpose="batch").id

    def submit(self, entries: list[dict[str, Any]], input_file: str | None) -> str:
        batch = self.client.batches.create(input_file_id=input_file, endpoint=self.endpoint, completion_window="24h")
        return batch.id

    def find(self, input_file: str, look_at: int = 1000) -> str | None:
        """The batch created from ``input_file``, among the account's newest ``look_at``; None if there is none."""
        for n, batch in enumerate(self.client.batches.list(limit=100)):
            if batch.input_file_id == input_file:
                return batch.id
            if n + 1 >= look_at:
                break
        return None

    def poll(self, batch_id: str) -> Poll:
        b = self.client.batches.retrieve(batch_id)
        self._files[batch_id] = (b.output_file_id, b.error_file_id)
        c = b.request_counts
        counts = f"{c.completed}/{c.total} completed, {c.failed} failed" if c else "no counts yet"
        ended = b.status in ("completed", "expired", "cancelled", "failed")
        errors = getattr(b.errors, "data", None) or []
        message = "; ".join(f"line {e.line}: {e.message}" if e.line else str(e.message) for e in errors)
        return Poll(b.status, ended, b.status if ended else "", counts, message)

    def results(self, batch_id: str) -> dict[str, ItemResult]:
        out: dict[str, ItemResult] = {}
        for file_id in self._files.get(batch_id, (None, None)):
            if not file_id:
                continue
            for line in self.client.files.content(file_id).text.splitlines():
                if line.strip():
                    obj = json.loads(line)
                    out[obj["custom_id"]] = _openai_item(obj)
        return out


def _openai_item(obj: dict[str, Any]) -> ItemResult:
    response = obj.get("response") or {}
    error = obj.get("error") or {}
    status = response.get("status_code")
    if status == 200 and not error:
        return ItemResult(data=response.get("body"))
    if error.get("code") in _OPENAI_UNRUN:
        return ItemResult()
    body = response.get("body") or {}
    inner = body.get("error") if isinstance(body, dict) else None
    message = (inner or {}).get("message") or error.get("message") or "the request failed in the batch"
    code = (inner or {}).get("code") or (inner or {}).get("type") or error.get("code")
    return ItemResult(status=status or 500, message=f"{message} [{code}]" if code else message)


class AnthropicBatches:
    name = "anthropic"
    max_requests = 100_000  # per batch, and 256 MB per create request: kept below both
    max_bytes = 240 * 1024 * 1024

    def __init__(self, client: Any):
        self.client = client

    def entry(self, custom_id: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"custom_id": custom_id, "params": body}

    def upload(self, entries: list[dict[str, Any]]) -> None:
        return None  # the requests travel in the create call itself

    def submit(self, entries: list[dict[str, Any]], input_file: str | None) -> str:
        return self.client.messages.batches.create(requests=entries).id

    def find(self, input_file: str) -> str | None:
        return None

    def poll(self, batch_id: str) -> Poll:
        b = self.client.messages.batches.retrieve(batch_id)
        c = b.request_counts
        ended = b.processing_status == "ended"
        done = c.succeeded + c.errored + c.expired + c.canceled
        counts = (f"{done}/{done + c.processing} ended: {c.succeeded} succeeded, {c.errored} errored, "
                  f"{c.expired} expired, {c.canceled} canceled")
        outcome = ""
        if ended:  # the batch as a whole: its unfinished requests say whether it expired or was cancelled
            outcome = "expired" if c.expired else "cancelled" if c.canceled else "completed"
        return Poll(b.processing_status, ended, outcome, counts)

    def results(self, batch_id: str) -> dict[str, ItemResult]:
        out: dict[str, ItemResult] = {}
        for item in self.client.messages.batches.results(batch_id):
            obj = item.model_dump(mode="json", warnings=False)
            result = obj["result"]
            if result["type"] == "succeeded":
                out[obj["custom_id"]] = ItemResult(data=result["message"])
            elif result["type"] == "errored":
                error = result.get("error") or {}
                inner = error.get("error", error) if isinstance(error, dict) else {}
                kind = inner.get("type", "api_error")
                out[obj["custom_id"]] = ItemResult(status=_ANTHROPIC_STATUS.get(kind, 500),
                                                   message=f"{inner.get('message') or kind} [{kind}]")
            else:  # canceled, expired: never ran
                out[obj["custom_id"]] = ItemResult()
        return out


PROTOCOLS = {"openai": OpenAIBatches, "anthropic": AnthropicBatches}
