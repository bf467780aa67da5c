"""The batch protocols of the loopback server (fakeapi.py): OpenAI's Batch API and Anthropic's Message Batches.

OpenAI:    POST /v1/files (multipart upload), POST /v1/batches, GET /v1/batches (list), GET /v1/batches/{id},
           POST /v1/batches/{id}/cancel, GET /v1/files/{id}/content
Anthropic: POST /v1/messages/batches, GET /v1/messages/batches/{id}, POST .../{id}/cancel,
           GET /v1/messages/batches/{id}/results (JSONL)

A batch ends ``delay`` seconds after its creation (its counts grow meanwhile; ``delay`` may be a function
of the batch's number), answering each request
with the same body a live call gets (``FakeAPI.complete``). Scripted: ``item_fault(custom_id, attempt)``
makes one request fail inside its batch ("500", "429", "400", ...; ``attempt`` counts the batches that
held that custom_id), and ``fate(n)`` ends the n-th batch created "completed", "expired" or "cancelled"
(an expired or cancelled batch runs only its even-numbered requests).
"""
from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Callable

_ERROR_TYPES = {400: "invalid_request_error", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}
_ROUTE = re.compile(r"^/v1/(files|batches|messages/batches)(/.*)?$")


@dataclass
class FakeBatch:
    id: str
    protocol: str  # "openai" or "anthropic"
    number: int  # 1 for the first batch created
    requests: list[tuple[str, dict]]  # (custom_id, body)
    attempts: list[int]  # per request: how many batches have held its custom_id, this one included
    input_file: str | None = None  # OpenAI: the uploaded file the batch was created from
    created: float = field(default_factory=time.time)
    cancelled: bool = False
    items: dict[str, dict] | None = None  # custom_id -> {"ok": body} | {"status", "message"} | {"unrun": reason}
    outcome: str = ""


class FakeBatches:
    def __init__(self, api: Any):
        self.api = api
        self.delay: float | Callable[[int], float] = 0.0  # seconds, or a function of the batch's number
        self.item_fault: Callable[[str, int], str | None] = lambda custom_id, attempt: None
        self.fate: Callable[[int], str] = lambda number: "completed"
        self.stall_create = False
        self.batches: dict[str, FakeBatch] = {}
        self.files: dict[str, bytes] = {}
        self.created: list[str] = []  # batch ids in creation order
        self.uploads: list[bytes] = []  # every uploaded file, as received
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def serves(path: str) -> bool:
        return bool(_ROUTE.match(path))

    def stalls(self, method: str, path: str) -> bool:
        """Whether to leave this request unanswered after handling it: a create the client never hears back
        from (``stall_create``), as a process killed during the call would not."""
        return self.stall_create and method == "POST" and path in ("/v1/batches", "/v1/messages/batches")

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any, str]:
        """(status, JSON object or bytes, content type) for one request on a batch route."""
        parts = path.strip("/").split("/")[1:]  # after "v1"
        anthropic = parts[:2] == ["messages", "batches"]
        rest = parts[2:] if anthropic else parts[1:]
        with self._lock:
            if parts[0] == "files":
                return self._files(method, rest, headers, raw)
            if method == "POST" and not rest:
                return self._create("anthropic" if anthropic else "openai", json.loads(raw))
            if method == "GET" and not rest and not anthropic:  # newest first, as OpenAI lists them
                data = [self._object(self.batches[b]) for b in reversed(self.created) if b.startswith("batch_")]
                return 200, {"object": "list", "data": data, "has_more": False}, "application/json"
            batch = self.batches.get(rest[0]) if rest else None
            if batch is None:
                return _error(404, "no such batch")
            if method == "POST" and rest[1:] == ["cancel"]:
                batch.cancelled = True
                return 200, self._object(batch), "application/json"
            if method == "GET" and rest[1:] == ["results"]:
                return 200, self._anthropic_results(batch), "application/binary"
            if method == "GET" and len(rest) == 1:
                return 200, self._object(batch), "application/json"
        return _error(404, f"no route {method} {path}")

    # -- OpenAI's files ----------------------------------------------------------------------------
    def _files(self, method: str, rest: list[str], headers: dict[str, str], raw: bytes) -> tuple[int, Any, str]:
        if method == "POST" and not rest:
            fields = _multipart(headers.get("content-type", ""), raw)
            if fields.get("purpose") != b"batch" or "file" not in fields:
                return _error(400, "expected a file with purpose=batch")
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = fields["file"]
            self.uploads.append(fields["file"])
            return 200, {"id": file_id, "object": "file", "bytes": len(fields["file"]), "created_at": int(time.time()),
                         "filename": "requests.jsonl", "purpose": "batch", "status": "processed"}, "application/json"
        if method == "GET" and len(rest) == 2 and rest[1] == "content" and rest[0] in self.files:
            return 200, self.files[rest[0]], "application/octet-stream"
        return _error(404, "no such file")

    # -- batches -----------------------------------------------------------------------------------
    def _create(self, protocol: str, body: dict) -> tuple[int, Any, str]:
        if protocol == "openai":
            if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
                return _error(400, "endpoint must be /v1/chat/completions and completion_window 24h")
            lines = self.files[body["input_file_id"]].decode("utf-8").splitlines()
            entries = [json.loads(line) for line in lines if line.strip()]
            if any(e.get("method") != "POST" or e.get("url") != "/v1/chat/completions" for e in entries):
                return _error(400, "every line needs method POST and url /v1/chat/completions")
            requests = [(e["custom_id"], e["body"]) for e in entries]
        else:
            requests = [(r["custom_id"], r["params"]) for r in body["requests"]]
        ids = [cid for cid, _ in requests]
        if len(set(ids)) != len(ids) or not all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cid) for cid in ids):
            return _error(400, "custom_id values must be unique and match ^[a-zA-Z0-9_-]{1,64}$")
        attempts = []
        for cid in ids:
            self._held[cid] = self._held.get(cid, 0) + 1
            attempts.append(self._held[cid])
        number = len(self.created) + 1
        batch_id = f"{'msgbatch' if protocol == 'anthropic' else 'batch'}_{number:04d}"
        batch = self.batches[batch_id] = FakeBatch(batch_id, protocol, number, requests, attempts,
                                                   body.get("input_file_id"))
        self.created.append(batch_id)
        return 200, self._object(batch), "application/json"

    def _run(self, batch: FakeBatch) -> bool:
        """End ``batch`` once its delay has passed (or it was cancelled); True once it has ended."""
        if batch.items is not None:
            return True
        delay = self.delay(batch.number) if callable(self.delay) else self.delay
        if not batch.cancelled and time.time() - batch.created < delay:
            return False
        batch.outcome = "cancelled" if batch.cancelled else self.fate(batch.number)
        batch.items = {}
        for n, ((cid, body), attempt) in enumerate(zip(batch.requests, batch.attempts)):
            if batch.outcome != "completed" and n % 2:
                batch.items[cid] = {"unrun": batch.outcome}
                continue
            fault = self.item_fault(cid, attempt)
            if fault is None:
                batch.items[cid] = {"ok": self.api.complete(batch.protocol, body)}
            else:
                batch.items[cid] = {"status": int(fault), "message": f"injected {fault} in a batch"}
        return True

    def _object(self, batch: FakeBatch) -> dict:
        ended = self._run(batch)
        total = len(batch.requests)
        if ended:
            items = list(batch.items.values())
            ok = sum("ok" in i for i in items)
            failed = sum("status" in i for i in items)
        else:  # the counts grow as the delay passes, so progress lines have something to show
            delay = self.delay(batch.number) if callable(self.delay) else self.delay
            ok, failed = int(total * (time.time() - batch.created) / max(delay, 1e-9)), 0
        if batch.protocol == "anthropic":
            return self._anthropic_object(batch, ended, ok, failed)
        output, errors = self._openai_files(batch) if ended else (None, None)
        status = batch.outcome if ended else "cancelling" if batch.cancelled else "in_progress"
        return {"id": batch.id, "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
                "input_file_id": batch.input_file, "completion_window": "24h", "status": status,
                "output_file_id": output, "error_file_id": errors, "created_at": int(batch.created),
                "request_counts": {"total": total, "completed": ok, "failed": failed}}

    def _openai_files(self, batch: FakeBatch) -> tuple[str | None, str | None]:
        """The output and error files of an ended OpenAI batch (written once, on first look)."""
        out_id, err_id = f"file-{batch.id}-output", f"file-{batch.id}-errors"
        if out_id not in self.files:
            out, err = [], []
            for cid, item in batch.items.items():
                line = {"id": f"batch_req_{cid}", "custom_id": cid, "response": None, "error": None}
                if "ok" in item:
                    line["response"] = {"status_code": 200, "request_id": cid, "body": item["ok"]}
                    out.append(line)
                    continue
                if "unrun" in item:
                    line["error"] = {"code": f"batch_{item['unrun']}", "message": "the batch ended before this ran"}
                else:
                    kind = _ERROR_TYPES.get(item["status"], "api_error")
                    line["response"] = {"status_code": item["status"], "request_id": cid, "body": {
                        "error": {"message": item["message"], "type": kind, "param": None, "code": None}}}
                err.append(line)
            self.files[out_id] = "".join(json.dumps(x) + "\n" for x in out).encode("utf-8")
            self.files[err_id] = "".join(json.dumps(x) + "\n" for x in err).encode("utf-8")
        return (out_id if self.files[out_id] else None), (err_id if self.files[err_id] else None)

    def _anthropic_object(self, batch: FakeBatch, ended: bool, ok: int, failed: int) -> dict:
        items = list(batch.items.values()) if ended else []
        unrun = {kind: sum(i.get("unrun") == kind for i in items) for kind in ("expired", "cancelled")}
        iso = datetime.fromtimestamp(batch.created, timezone.utc).isoformat()
        return {"id": batch.id, "type": "message_batch", "created_at": iso, "expires_at": iso,
                "processing_status": "ended" if ended else "canceling" if batch.cancelled else "in_progress",
                "request_counts": {"processing": 0 if ended else len(batch.requests), "succeeded": ok if ended else 0,
                                   "errored": failed, "expired": unrun["expired"], "canceled": unrun["cancelled"]},
                "ended_at": iso if ended else None, "archived_at": None,
                "cancel_initiated_at": iso if batch.cancelled else None,
                "results_url": f"{self.api.url}/v1/messages/batches/{batch.id}/results" if ended else None}

    def _anthropic_results(self, batch: FakeBatch) -> bytes:
        if not self._run(batch):
            return json.dumps({"type": "error", "error": {"type": "invalid_request_error",
                                                          "message": "batch still in progress"}}).encode()
        lines = []
        for cid, item in batch.items.items():
            if "ok" in item:
                result = {"type": "succeeded", "message": item["ok"]}
            elif "unrun" in item:
                result = {"type": "expired" if item["unrun"] == "expired" else "canceled"}
            else:
                result = {"type": "errored", "error": {"type": "error", "error": {
                    "type": _ERROR_TYPES.get(item["status"], "api_error"), "message": item["message"]}}}
            lines.append(json.dumps({"custom_id": cid, "result": result}) + "\n")
        return "".join(lines).encode("utf-8")


def _multipart(content_type: str, raw: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data body, by name."""
    message = BytesParser(policy=HTTP).parsebytes(f"content-type: {content_type}\r\n\r\n".encode("latin-1") + raw)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[name] = part.get_payload(decode=True)
    return fields


def _error(status: int, message: str) -> tuple[int, dict, str]:
    return status, {"error": {"message": message, "type": _ERROR_TYPES.get(status, "api_error")}}, "application/json"
