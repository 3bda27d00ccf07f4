"""A small OpenAI-compatible server for the tests: the tiny HF model behind FastAPI + uvicorn.

Serves the subset `OpenAICompatible` uses, the way vLLM answers it:

* ``GET  /v1/models``            -- the model id and ``max_model_len``;
* ``POST /v1/completions``       -- ``echo=True`` gives each prompt token's log-prob, text and
  character offset (``logprobs.tokens / token_logprobs / top_logprobs / text_offset``), computed
  here from one unpadded forward pass of the whole text (independently of the client library's
  scoring code); otherwise generation;
* ``POST /v1/chat/completions``  -- generation from the last user message, with ``logprobs.content``;
* ``POST /tokenize``             -- ``{"tokens": [...], "count": n}``.

A model name of the form ``slow:<seconds>`` makes the server wait that long first (timeout tests).
It listens on a socket bound to 127.0.0.1 by the test, in a thread, and stops when told to.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fewshot.lm import HFCausalLM

MAX_SLEEP_S = 5.0


def create_app(lm: HFCausalLM, *, model_id: str = "tiny", api_key: str | None = None) -> FastAPI:
    app = FastAPI()
    tok, model = lm.tokenizer, lm.model

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": {"message": message, "code": status}}, status_code=status)

    def check(request: Request, body: dict[str, Any] | None) -> JSONResponse | None:
        if api_key is not None and request.headers.get("authorization") != f"Bearer {api_key}":
            return error(401, "invalid API key")
        if body is not None:
            name = str(body.get("model", ""))
            if name.startswith("slow:"):
                time.sleep(min(float(name[5:]), MAX_SLEEP_S))
            elif name != model_id:
                return error(404, f"model {name!r} does not exist")
        return None

    def echo_logprobs(text: str, top_k: int) -> dict[str, Any]:
        enc = tok(text, return_offsets_mapping=True)
        ids = enc["input_ids"]
        with torch.inference_mode():
            logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), dim=-1)
        special = set(tok.all_special_ids)
        tokens, lps, tops, offsets = [], [], [], []
        for j, (tid, (start, end)) in enumerate(zip(ids, enc["offset_mapping"])):
            tokens.append("" if tid in special else text[start:end])
            offsets.append(int(start))
            if j == 0:
                lps.append(None)
                tops.append(None)
                continue
            row = logp[j - 1]
            lps.append(float(row[tid]))
            vals, idx = row.topk(top_k)
            tops.append({tok.decode([int(i)]): float(v) for v, i in zip(vals, idx)})
        return {"tokens": tokens, "token_logprobs": lps, "top_logprobs": tops, "text_offset": offsets}

    def finish(g) -> tuple[str, Any]:
        if g.finish_reason == "length":
            return "length", None
        return "stop", (None if g.finish_reason == "eos" else "<stop string>")

    @app.get("/v1/models")
    def models(request: Request):
        if (bad := check(request, None)) is not None:
            return bad
        return {"object": "list", "data": [{"id": model_id, "object": "model", "max_model_len": lm.max_context}]}

    @app.post("/tokenize")
    async def tokenize(request: Request):
        body = await request.json()
        if (bad := check(request, body)) is not None:
            return bad
        ids = tok(body["prompt"], add_special_tokens=body.get("add_special_tokens", True))["input_ids"]
        return {"tokens": ids, "count": len(ids), "max_model_len": lm.max_context}

    @app.post("/v1/completions")
    async def completions(request: Request):
        body = await request.json()
        if (bad := check(request, body)) is not None:
            return bad
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        max_tokens = int(body.get("max_tokens", 16))
        n = int(body.get("n", 1))
        choices = []
        if body.get("echo"):
            if max_tokens > 1 or n != 1:
                return error(400, "this test server echoes with max_tokens 0 or 1 and n=1 only")
            for i, text in enumerate(prompts):
                lp = echo_logprobs(text, max(1, int(body.get("logprobs") or 1)))
                if max_tokens == 1:  # append the greedy next token, as a real server would
                    [g] = lm.generate([text], max_new_tokens=1)
                    lp["tokens"].append(g.text)
                    lp["token_logprobs"].append(g.token_logprobs[0])
                    lp["top_logprobs"].append({g.text: g.token_logprobs[0]})
                    lp["text_offset"].append(len(text))
                    text = text + g.text
                choices.append({"index": i, "text": text, "logprobs": lp, "finish_reason": "length"})
            return {"object": "text_completion", "model": model_id, "choices": choices}
        gens = lm.generate(
            prompts,
            max_new_tokens=max_tokens,
            stop=body.get("stop") or (),
            temperature=float(body.get("temperature", 1.0)),
            seed=body.get("seed"),
            n=n,
        )
        for k, g in enumerate(gens):
            reason, stop_reason = finish(g)
            choices.append(
                {
                    "index": k,
                    "text": g.text,
                    "finish_reason": reason,
                    "stop_reason": stop_reason,
                    "logprobs": {"tokens": [""] * g.n_tokens, "token_logprobs": list(g.token_logprobs)},
                }
            )
        return {"object": "text_completion", "model": model_id, "choices": choices}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        if (bad := check(request, body)) is not None:
            return bad
        messages = body.get("messages") or []
        users = [m["content"] for m in messages if m.get("role") == "user"]
        if not users:
            return error(400, "no user message")
        gens = lm.generate(
            [users[-1]],
            max_new_tokens=int(body.get("max_tokens", 16)),
            stop=body.get("stop") or (),
            temperature=float(body.get("temperature", 1.0)),
            seed=body.get("seed"),
            n=int(body.get("n", 1)),
        )
        choices = []
        for k, g in enumerate(gens):
            reason, stop_reason = finish(g)
            content = [{"token": "", "logprob": lp} for lp in g.token_logprobs] if body.get("logprobs") else None
            choices.append(
                {
                    "index": k,
                    "message": {"role": "assistant", "content": g.text},
                    "finish_reason": reason,
                    "stop_reason": stop_reason,
                    "logprobs": {"content": content} if content is not None else None,
                }
            )
        return {"object": "chat.completion", "model": model_id, "choices": choices}

    return app


@contextmanager
def serve(app: FastAPI, *, start_timeout_s: float = 20.0) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 (a free port) in a thread; yield its base URL with ``/v1``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test OpenAI server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
