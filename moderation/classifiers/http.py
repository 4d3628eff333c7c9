"""An example plug-in: scores from an operator's HTTP scoring service.

Request: ``POST {url}`` with ``{"texts": ["...", ...]}``.
Response: ``{"scores": [{"category": score, ...}, ...], "version": "..."}`` in order.
Time-limited by ``timeout``; failures open the circuit breaker (see base.py), and the
posts of a failed batch go to human review.
"""

from __future__ import annotations

import json
import urllib.request

from .base import Classifier, ClassifierUnavailable, Item, Result


class HttpClassifier(Classifier):
    name = "http"
    categories = ("violence", "hate", "offensive", "spam")

    def __init__(self, url: str = "", timeout: float = 2.0, name: str = "", **options) -> None:
        super().__init__(**options)
        self.url, self.timeout = url, timeout
        self.name = name or self.name
        self.version = options.get("version", "remote")

    def classify(self, items: list[Item]) -> list[Result]:
        if not self.url:
            raise ClassifierUnavailable("no URL configured")
        body = json.dumps({"texts": [i.text for i in items]}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - operator's URL
            data = json.loads(response.read())
        self.version = str(data.get("version", self.version))[:100]
        scores = data["scores"]
        return [Result(scores={str(k): float(v) for k, v in s.items()}) for s in scores]
