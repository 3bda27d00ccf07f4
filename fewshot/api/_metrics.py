"""A small Prometheus text-format registry: request counts and latency histograms per route."""

from __future__ import annotations

import threading
from collections import defaultdict

__all__ = ["Metrics"]

_BUCKETS = (0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self._hist: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * (len(_BUCKETS) + 1))
        self._sum: dict[tuple[str, str], float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, status)] += 1
            counts = self._hist[(method, route)]
            for i, b in enumerate(_BUCKETS):
                if seconds <= b:
                    counts[i] += 1
                    break
            else:
                counts[-1] += 1
            self._sum[(method, route)] += seconds

    def render(self, extra: dict[str, float] | None = None) -> str:
        lines = [
            "# HELP fewshot_requests_total HTTP requests by method, route and status.",
            "# TYPE fewshot_requests_total counter",
        ]
        with self._lock:
            for (m, r, s), n in sorted(self._requests.items()):
                lines.append(f'fewshot_requests_total{{method="{m}",route="{r}",status="{s}"}} {n}')
            lines += ["# HELP fewshot_request_seconds Request latency.", "# TYPE fewshot_request_seconds histogram"]
            for (m, r), counts in sorted(self._hist.items()):
                cum = 0
                for b, c in zip(_BUCKETS, counts):
                    cum += c
                    lines.append(f'fewshot_request_seconds_bucket{{method="{m}",route="{r}",le="{b}"}} {cum}')
                cum += counts[-1]
                lines.append(f'fewshot_request_seconds_bucket{{method="{m}",route="{r}",le="+Inf"}} {cum}')
                lines.append(f'fewshot_request_seconds_sum{{method="{m}",route="{r}"}} {self._sum[(m, r)]:.6f}')
                lines.append(f'fewshot_request_seconds_count{{method="{m}",route="{r}"}} {cum}')
        for name, value in (extra or {}).items():
            # ``*_total`` extras are counters (e.g. fewshot_prompt_logs_dropped_total), the rest gauges
            kind = "counter" if name.endswith("_total") else "gauge"
            lines += [f"# TYPE {name} {kind}", f"{name} {value}"]
        return "\n".join(lines) + "\n"
