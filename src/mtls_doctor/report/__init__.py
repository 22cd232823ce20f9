"""Renderers: one module per output format, each with ``render(report, options) -> str``."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mtls_doctor.check import Report


class Format(Enum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


@dataclass(frozen=True)
class RenderOptions:
    """How the text renderer lays out: colours, and the width when not on a terminal."""

    color: bool = False
    width: int = 120


class Renderer(Protocol):
    def __call__(self, report: Report, options: RenderOptions) -> str: ...


def renderer(fmt: Format) -> Renderer:
    """The render function of ``mtls_doctor.report.<format>`` (imported only when used)."""
    module = importlib.import_module(f"mtls_doctor.report.{fmt.value}")
    render: Renderer = module.render
    return render
