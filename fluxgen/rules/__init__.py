"""Planning rules by topic. Each rule fills a value the intent left open and says which guide it follows.

Sources are cited by short names: `seed:000` … `seed:004` (the guides in the seeds folder), `design card`
(fluxgen's own fixed defaults), `ref:ai-toolkit §N` / `ref:sd-scripts §N` (facts about the pinned trainers),
`st:<module>` (SimpleTuner's own sources at its pin).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fluxgen.intent import LayeredIntent
from fluxgen.origin import Origin

SOURCES = {
    "seed:000": "fal.ai best practices: cyber-skull subject and graphic-grebble style LoRAs",
    "seed:001": "Training style LoRAs for Flux.1 with kohya_ss",
    "seed:002": "RunDiffusion Flux concept POC with ai-toolkit",
    "seed:003": "fal.ai consistent-character LoRA guide",
    "seed:004": "General Flux LoRA guide",
    "design card": "fluxgen's fixed defaults",
    "ref:ai-toolkit": "ai-toolkit at the pinned commit",
    "ref:sd-scripts": "sd-scripts at the pinned commit",
    "ref:captioners-and-lora-formats": "captioner, metric-model and LoRA-key facts checked against the libraries",
    "st": "SimpleTuner 4.10.1: its sources and documentation",
}


@dataclass
class Advice:
    message: str
    origin: str
    severity: str = "warning"  # warning | info

    def to_dict(self) -> dict[str, str]:
        return {"message": self.message, "origin": self.origin, "severity": self.severity}


@dataclass
class Resolver:
    """Collects plan values: the intent's when given, else the rule's, each with its origin."""

    layered: LayeredIntent
    backend: str
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    advice: list[Advice] = field(default_factory=list)

    def given(self, intent_path: str) -> Any:
        node: Any = self.layered.intent
        for part in intent_path.split("."):
            node = getattr(node, part)
        return node

    def take(self, key: str, intent_path: str | None, default: Any, why: str) -> Any:
        """The intent's value at intent_path if given, else `default` with `why` as its origin."""
        value = self.given(intent_path) if intent_path else None
        if value is not None:
            self.values[key] = value
            self.origins[key] = self.layered.origins.get(intent_path, "intent")
        else:
            self.values[key] = default
            self.origins[key] = Origin.rule(why)
        return self.values[key]

    def set(self, key: str, value: Any, why: str) -> Any:
        self.values[key] = value
        self.origins[key] = Origin.rule(why)
        return value

    def is_given(self, intent_path: str) -> bool:
        return self.given(intent_path) is not None

    def warn(self, message: str, origin: str, severity: str = "warning") -> None:
        self.advice.append(Advice(message, origin, severity))

    @property
    def kind(self) -> str:
        return self.values["kind"]

    @property
    def planner(self) -> Any:
        """The planning hooks of the backend this plan is for (`fluxgen.backends.base.Planner`)."""
        from fluxgen.backends import BACKENDS

        return BACKENDS[self.backend].planner()
