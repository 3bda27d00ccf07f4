"""`OpenAICompatible`: a model behind an OpenAI-compatible HTTP server (vLLM, llama.cpp server...).

* Scoring uses the completions endpoint the way vLLM and llama.cpp's server allow:
  ``POST {base_url}/completions`` with ``echo=True, logprobs=1, max_tokens=0`` and
  ``prompt = prompt + continuation``; the echoed prompt tokens carry their log-probs and
  character offsets. A token is part of the continuation when its text ends after the prompt's
  last character (so a token straddling the boundary is scored, as in `HFCausalLM`).
  Servers that refuse ``max_tokens=0`` take ``score_max_tokens=1``; the generated token is
  ignored.
* Generation uses ``POST {base_url}/chat/completions`` (one user message per prompt) with
  ``logprobs=True``, or the completions endpoint with ``chat=False`` (base models, raw prompts).
* ``count_tokens`` uses the ``/tokenize`` route vLLM and llama.cpp's server add next to ``/v1``.

``base_url`` includes the API prefix, e.g. ``http://127.0.0.1:8000/v1``. The API key comes from
``api_key`` or the environment variable named by ``api_key_env`` (``OPENAI_API_KEY``); without
one no Authorization header is sent. Requests time out after ``timeout`` seconds and are retried
at most ``max_retries`` times on timeouts, connection errors, 429 and 5xx answers; other errors
raise `LMBackendError` at once. The error's message names the method, the URL (without
credentials or query) and the status; the server's own message is kept on ``exc.detail`` (and
logged), never in the message, so an upstream's response body never reaches an API caller.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from fewshot.exceptions import InvalidInputError
from fewshot.lm._errors import LMBackendError
from fewshot.lm._results import Generation, LogLik
from fewshot.lm.base import LMBackend, Progress, cut_at_stop

__all__ = ["OpenAICompatible"]

log = logging.getLogger(__name__)

_GREEDY_TOL = 1e-6


class OpenAICompatible(LMBackend):
    """A model served over an OpenAI-compatible HTTP API.

    Parameters
    ----------
    base_url : str
        API root including the version prefix, e.g. ``"http://127.0.0.1:8000/v1"``.
    model : str
        The ``model`` field of every request.
    api_key : str, optional
        Bearer token; default: the environment variable ``api_key_env``.
    api_key_env : str
    timeout : float
        Seconds for each HTTP request (connect, read, write).
    max_retries : int
        Extra attempts after a timeout, connection error, 429 or 5xx answer (0 = none).
    chat : bool
        Generate through ``/chat/completions`` (default) or ``/completions``.
    batch_size : int
        Prompts sent in one completions request (scoring, and generation with ``chat=False``).
    max_context : int, optional
        Context length; default: ``max_model_len`` from ``GET /models`` when the server says.
    score_max_tokens : int
        ``max_tokens`` of scoring requests (0, or 1 for servers that refuse 0).
    transport : httpx.BaseTransport, optional
        Passed to the `httpx.Client` (proxies, test transports).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 2,
        chat: bool = True,
        batch_size: int = 16,
        max_context: int | None = None,
        score_max_tokens: int = 0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise InvalidInputError(f"base_url must be an http(s) URL, got {base_url!r}")
        if not model:
            raise InvalidInputError("model must be a non-empty model name")
        if max_retries < 0 or batch_size < 1 or timeout <= 0 or score_max_tokens not in (0, 1):
            raise InvalidInputError("need max_retries >= 0, batch_size >= 1, timeout > 0, score_max_tokens in (0, 1)")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.chat = chat
        self.batch_size = int(batch_size)
        self.max_retries = int(max_retries)
        self.score_max_tokens = int(score_max_tokens)
        key = api_key if api_key is not None else os.environ.get(api_key_env)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)
        self._max_context = max_context
        self._context_probed = max_context is not None

    # -- description ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return f"openai:{self.base_url}#{self.model}"

    @property
    def max_context(self) -> int | None:
        if not self._context_probed:
            self._context_probed = True
            try:
                data = self._request("GET", "/models")
                for entry in data.get("data", []):
                    if entry.get("id") == self.model and isinstance(entry.get("max_model_len"), int):
                        self._max_context = entry["max_model_len"]
            except LMBackendError as exc:
                log.info("could not read max_model_len from %s/models: %s", self.base_url, exc)
        return self._max_context

    def count_tokens(self, text: str) -> int:
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
        root = self.base_url[:-3] if self.base_url.endswith("/v1") else self.base_url
        data = self._request(
            "POST",
            "/tokenize",
            {"model": self.model, "prompt": text, "content": text, "add_special_tokens": False},
            root=root,
        )
        if isinstance(data.get("count"), int):
            return data["count"]
        if isinstance(data.get("tokens"), list):
            return len(data["tokens"])
        raise LMBackendError(f"{root}/tokenize answered without 'count' or 'tokens'")

    def close(self) -> None:
        self._client.close()

    # -- HTTP -----------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, payload: dict[str, Any] | None = None, *, root: str | None = None
    ) -> dict[str, Any]:
        url = (root or self.base_url) + path
        where = _redacted(url)
        last = ""
        detail: str | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(min(0.25 * 2 ** (attempt - 1), 4.0))
            try:
                resp = self._client.request(method, url, json=payload)
            except httpx.TimeoutException:
                last = f"timed out after {self._client.timeout.read}s"
                continue
            except httpx.TransportError as exc:
                last = f"connection failed ({type(exc).__name__})"
                detail = str(exc)
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                last = f"HTTP {resp.status_code}"
                detail = _server_message(resp)
                continue
            if resp.status_code >= 400:
                raise _backend_error(f"{method} {where} answered HTTP {resp.status_code}", _server_message(resp))
            try:
                data = resp.json()
            except ValueError:
                raise _backend_error(f"{method} {where} answered with a non-JSON body", resp.text[:300]) from None
            if not isinstance(data, dict):
                raise _backend_error(f"{method} {where} answered with JSON that is not an object", None)
            return data
        raise _backend_error(f"{method} {where} failed after {self.max_retries + 1} attempt(s): {last}", detail)

    # -- scoring --------------------------------------------------------------------------------

    def _loglikelihood(self, requests: list[tuple[str, str]], progress: Progress | None) -> list[LogLik]:
        out: list[LogLik] = []
        for start in range(0, len(requests), self.batch_size):
            chunk = requests[start : start + self.batch_size]
            payload = {
                "model": self.model,
                "prompt": [p + c for p, c in chunk],
                "echo": True,
                "logprobs": 1,
                "max_tokens": self.score_max_tokens,
                "temperature": 0.0,
            }
            data = self._request("POST", "/completions", payload)
            choices = _choices_by_index(data, len(chunk), "/completions")
            for i, ((prompt, cont), choice) in enumerate(zip(chunk, choices)):
                out.append(_parse_echo(choice, len(prompt), len(prompt) + len(cont), start + i))
            if progress is not None:
                progress(len(out), len(requests))
        return out

    # -- generation -----------------------------------------------------------------------------

    def _generate(
        self,
        prompts: list[str],
        *,
        max_new_tokens: int,
        stop: list[str],
        temperature: float,
        seed: int | None,
        n: int,
        progress: Progress | None,
    ) -> list[Generation]:
        base: dict[str, Any] = {"model": self.model, "max_tokens": max_new_tokens, "temperature": temperature, "n": n}
        if stop:
            base["stop"] = list(stop)
        if seed is not None:
            base["seed"] = seed
        out: list[Generation] = []
        if self.chat:
            for i, prompt in enumerate(prompts):
                payload = dict(base, messages=[{"role": "user", "content": prompt}], logprobs=True)
                data = self._request("POST", "/chat/completions", payload)
                for j, choice in enumerate(_choices_by_index(data, n, "/chat/completions")):
                    msg = choice.get("message") or {}
                    content = (choice.get("logprobs") or {}).get("content") or []
                    toks = [c.get("token", "") for c in content]
                    lps = [c.get("logprob") for c in content]
                    out.append(_generation(msg.get("content") or "", toks, lps, choice, stop, i, j))
                if progress is not None:
                    progress(i + 1, len(prompts))
            return out
        for start in range(0, len(prompts), self.batch_size):
            chunk = prompts[start : start + self.batch_size]
            payload = dict(base, prompt=chunk, logprobs=1)
            data = self._request("POST", "/completions", payload)
            choices = _choices_by_index(data, len(chunk) * n, "/completions")
            for k, choice in enumerate(choices):
                lp = choice.get("logprobs") or {}
                out.append(
                    _generation(
                        choice.get("text") or "",
                        lp.get("tokens") or [],
                        lp.get("token_logprobs") or [],
                        choice,
                        stop,
                        start + k // n,
                        k % n,
                    )
                )
            if progress is not None:
                progress(min(start + len(chunk), len(prompts)), len(prompts))
        return out


# -- response parsing -------------------------------------------------------------------------


def _redacted(url: str) -> str:
    """``url`` without credentials, query or fragment: what an error message may show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _backend_error(message: str, detail: str | None) -> LMBackendError:
    """An `LMBackendError` whose message never holds the upstream's answer.

    The server's own message (its response body, cut to 300 characters) is kept on
    ``exc.detail`` for logs: a caller of the REST API sees only the message, so an upstream's
    response body (an internal admin page, say) never reaches it.
    """
    exc = LMBackendError(message)
    exc.detail = detail  # type: ignore[attr-defined]
    if detail:
        log.info("%s: %s", message, detail)
    return exc


def _server_message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:300]
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data))
        if isinstance(err, dict):
            return str(err.get("message", err))
        return str(err)
    return str(data)[:300]


def _choices_by_index(data: dict[str, Any], expected: int, route: str) -> list[dict[str, Any]]:
    choices = data.get("choices")
    if not isinstance(choices, list) or len(choices) != expected:
        got = len(choices) if isinstance(choices, list) else "no"
        raise LMBackendError(f"{route} answered {got} choices, expected {expected}")
    return sorted(choices, key=lambda c: c.get("index", 0))


def _parse_echo(choice: dict[str, Any], prompt_len: int, full_len: int, i: int) -> LogLik:
    lp = choice.get("logprobs") or {}
    tokens, logprobs = lp.get("tokens"), lp.get("token_logprobs")
    if not isinstance(tokens, list) or not isinstance(logprobs, list) or len(tokens) != len(logprobs):
        raise LMBackendError(
            f"request {i}: the server did not echo prompt logprobs "
            "(needs echo=True with logprobs support on /completions)"
        )
    offsets = lp.get("text_offset")
    if not isinstance(offsets, list) or len(offsets) != len(tokens):
        offsets, acc = [], 0
        for t in tokens:
            offsets.append(acc)
            acc += len(t)
    top = lp.get("top_logprobs") or [None] * len(tokens)
    if tokens and offsets[0] + len(tokens[0]) > prompt_len:
        # the first token has no log-prob; it holds continuation text when the server's
        # tokenizer puts no start token before the text and the prompt is empty (or merged)
        raise InvalidInputError(
            f"request {i}: the server scores no start token, so the continuation's first token "
            "(which begins the text) has no log-prob; give a non-empty prompt"
        )
    idx = [
        k
        for k in range(1, len(tokens))
        if offsets[k] < full_len and offsets[k] + len(tokens[k]) > prompt_len and logprobs[k] is not None
    ]
    if not idx:
        raise LMBackendError(f"request {i}: no echoed token falls in the continuation")
    greedy = True
    for k in idx:
        alts = top[k] if k < len(top) else None
        if not alts or max(alts.values()) > logprobs[k] + _GREEDY_TOL:
            greedy = False
            break
    return LogLik(
        token_logprobs=tuple(float(logprobs[k]) for k in idx), tokens=tuple(tokens[k] for k in idx), is_greedy=greedy
    )


def _generation(
    text: str,
    tokens: list[str],
    logprobs: list[Any],
    choice: dict[str, Any],
    stop: list[str],
    prompt_index: int,
    sample_index: int,
) -> Generation:
    lps = [float(x) for x in logprobs if x is not None]
    cut, found = cut_at_stop(text, stop)
    reason = choice.get("finish_reason") or "length"
    if found:
        acc, keep = 0, 0
        for t in tokens:
            if acc >= len(cut):
                break
            acc += len(t)
            keep += 1
        lps = lps[: max(1, keep)]
        reason = "stop"
    elif reason == "stop":
        # the server stopped: on a stop string (it cut it off) or on end-of-sequence
        why = choice.get("stop_reason")
        reason = "stop" if isinstance(why, str) or (why is None and stop) else "eos"
    elif reason != "length":
        reason = "length"
    return Generation(
        text=cut, token_logprobs=tuple(lps), finish_reason=reason, prompt_index=prompt_index, sample_index=sample_index
    )
