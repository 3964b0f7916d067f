"""Results of one run: the per-server table, Core's ratios, the targets' PASS/FAIL, and JSON.

Targets are reported, never asserted: a miss shows as FAIL with the measured value and the
benchmark still exits 0 (it exits non-zero only when a server or a measurement failed).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.gateway.cpu import FOREIGN_WARN_CORES, Usage
from bench.gateway.load import LoadResult
from bench.gateway.probe import TtfcResult

Mode = Literal["json", "stream"]
MODES: tuple[Mode, ...] = ("json", "stream")
MODE_TITLES: dict[Mode, str] = {"json": "non-streaming", "stream": "streaming"}
_PART_TITLES: dict[str, str] = {"json": "non-streaming", "stream": "streaming", "ttfc": "TTFC"}


@dataclass
class ServerResult:
    """Everything measured on one server; `error` says why a part is missing."""

    name: str
    title: str
    startup_s: float | None = None
    load: dict[Mode, LoadResult] = field(default_factory=dict)
    ttfc: TtfcResult | None = None
    cpu: dict[str, Usage] = field(default_factory=dict)  # by mode, and "ttfc"
    error: str | None = None


@dataclass(frozen=True)
class Target:
    """One goal for Core; `passed` is None when a server it needs was not measured."""

    goal: str
    measured: str
    passed: bool | None

    @property
    def verdict(self) -> str:
        """PASS, FAIL or n/a."""
        return "n/a" if self.passed is None else ("PASS" if self.passed else "FAIL")


@dataclass(frozen=True)
class Ratio:
    """Core's number divided by another server's, for one metric and mode."""

    label: str
    value: float | None


def _load(results: dict[str, ServerResult], name: str, mode: Mode) -> LoadResult | None:
    result = results.get(name)
    return result.load.get(mode) if result else None


def _ttfc(results: dict[str, ServerResult], name: str) -> TtfcResult | None:
    result = results.get(name)
    return result.ttfc if result else None


def ratios(results: dict[str, ServerResult]) -> list[Ratio]:
    """Core/floor and Core/LiteLLM for req/s and p99 latency, per mode."""
    out: list[Ratio] = []
    for other, other_title in (("floor", "floor"), ("litellm", "LiteLLM")):
        for mode in MODES:
            core, base = _load(results, "core", mode), _load(results, other, mode)
            for metric in ("rps", "p99_ms"):
                value = None
                if core and base and getattr(base, metric) > 0:
                    value = getattr(core, metric) / getattr(base, metric)
                name = "req/s" if metric == "rps" else "p99"
                out.append(Ratio(f"Core/{other_title} {name} ({MODE_TITLES[mode]})", value))
    return out


def targets(results: dict[str, ServerResult]) -> list[Target]:
    """The goals Core must meet, each with what was measured."""
    out: list[Target] = []
    for mode in MODES:
        title = MODE_TITLES[mode]
        core, floor, lite = (_load(results, n, mode) for n in ("core", "floor", "litellm"))

        goal = f"Core req/s >= 50% of floor ({title})"
        if core and floor and floor.rps > 0:
            share = core.rps / floor.rps
            measured = f"{share:.0%} ({core.rps:,.0f} vs {floor.rps:,.0f} req/s)"
            out.append(Target(goal, measured, share >= 0.5))
        else:
            out.append(Target(goal, "not measured", None))

        goal = f"Core req/s >= 30x LiteLLM ({title})"
        if core and lite and lite.rps > 0:
            times = core.rps / lite.rps
            measured = f"{times:.1f}x ({core.rps:,.0f} vs {lite.rps:,.1f} req/s)"
            out.append(Target(goal, measured, times >= 30))
        else:
            out.append(Target(goal, "not measured", None))

        goal = f"Core p99 <= 2x floor p99 ({title})"
        if core and floor and floor.p99_ms > 0:
            times = core.p99_ms / floor.p99_ms
            measured = f"{times:.2f}x ({core.p99_ms:.2f} vs {floor.p99_ms:.2f} ms)"
            out.append(Target(goal, measured, times <= 2))
        else:
            out.append(Target(goal, "not measured", None))

    goal = "Core streaming TTFC p50 within 1 ms of floor"
    core_t, floor_t = _ttfc(results, "core"), _ttfc(results, "floor")
    if core_t and floor_t:
        diff = core_t.p50_ms - floor_t.p50_ms
        measured = f"{diff:+.3f} ms ({core_t.p50_ms:.3f} vs {floor_t.p50_ms:.3f} ms)"
        out.append(Target(goal, measured, diff <= 1.0))
    else:
        out.append(Target(goal, "not measured", None))
    return out


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(cells) + " |"

    rule = (
        "|"
        + "|".join(
            "-" * (width + 1) + ":" if i in right else "-" * (width + 2)
            for i, width in enumerate(widths)
        )
        + "|"
    )
    return [fmt(header), rule, *(fmt(row) for row in rows)]


def _cores(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render(results: dict[str, ServerResult]) -> str:
    """The final report as Markdown tables (also readable in a terminal)."""
    load_rows: list[list[str]] = []
    for result in results.values():
        for mode in MODES:
            lr = result.load.get(mode)
            if lr is None:
                load_rows.append([result.title, MODE_TITLES[mode], *["-"] * 6, "failed"])
                continue
            usage = result.cpu.get(mode)
            load_rows.append(
                [
                    result.title,
                    MODE_TITLES[mode],
                    f"{lr.rps:,.1f}",
                    f"{lr.p50_ms:.2f}",
                    f"{lr.p99_ms:.2f}",
                    f"{lr.requests:,}",
                    _cores(usage.server_cores if usage else None),
                    _cores(usage.foreign_cores if usage else None),
                    str(lr.error_count),
                ]
            )
    lines = ["Load (wrk, closed loop):", ""]
    lines += _table(
        [
            "server",
            "mode",
            "req/s",
            "p50 ms",
            "p99 ms",
            "requests",
            "server CPU",
            "other CPU",
            "errors",
        ],
        load_rows,
        right={2, 3, 4, 5, 6, 7, 8},
    )
    lines += [
        "",
        "CPU in cores over the measured run; other CPU is what processes outside the "
        f"benchmark used (above {FOREIGN_WARN_CORES:.2f} the numbers are skewed).",
    ]

    floor_ttfc = _ttfc(results, "floor")
    ttfc_rows: list[list[str]] = []
    for result in results.values():
        t = result.ttfc
        if t is None:
            ttfc_rows.append([result.title, *["-"] * 6, "failed"])
            continue
        usage = result.cpu.get("ttfc")
        ttfc_rows.append(
            [
                result.title,
                f"{t.p50_ms:.3f}",
                f"{t.p99_ms:.3f}",
                f"{t.p50_ms - floor_ttfc.p50_ms:+.3f}" if floor_ttfc else "-",
                f"{t.p99_ms - floor_ttfc.p99_ms:+.3f}" if floor_ttfc else "-",
                f"{t.mean_ms:.3f}",
                _cores(usage.foreign_cores if usage else None),
                str(t.samples),
            ]
        )
    lines += ["", "Streaming time to first chunk (sequential, one connection):", ""]
    lines += _table(
        [
            "server",
            "p50 ms",
            "p99 ms",
            "p50 − floor ms",
            "p99 − floor ms",
            "mean ms",
            "other CPU",
            "samples",
        ],
        ttfc_rows,
        right={1, 2, 3, 4, 5, 6, 7},
    )

    lines += ["", "Ratios (Core ÷ other):", ""]
    lines += _table(
        ["ratio", "value"],
        [[r.label, "n/a" if r.value is None else f"{r.value:.3g}"] for r in ratios(results)],
        right={1},
    )
    lines += ["", "Targets:", ""]
    lines += _table(
        ["target", "measured", "result"],
        [[t.goal, t.measured, t.verdict] for t in targets(results)],
        right=set(),
    )
    skewed = [
        f"{result.name} {_PART_TITLES[part]} ({usage.foreign_cores:.2f} cores)"
        for result in results.values()
        for part, usage in result.cpu.items()
        if usage.foreign_cores is not None and usage.foreign_cores > FOREIGN_WARN_CORES
    ]
    if skewed:
        lines += [
            "",
            "WARNING: other processes were busy during "
            + ", ".join(skewed)
            + "; those numbers are skewed, rerun on a quiet machine.",
        ]
    return "\n".join(lines)


def to_json(
    results: dict[str, ServerResult], settings: dict[str, Any], machine: dict[str, Any]
) -> dict[str, Any]:
    """The whole run as plain JSON data."""
    return {
        "machine": machine,
        "settings": settings,
        "servers": {
            name: {
                "title": r.title,
                "startup_s": r.startup_s,
                "error": r.error,
                "load": {mode: dataclasses.asdict(lr) for mode, lr in r.load.items()},
                "ttfc": dataclasses.asdict(r.ttfc) if r.ttfc else None,
                "cpu_cores": {part: dataclasses.asdict(u) for part, u in r.cpu.items()},
            }
            for name, r in results.items()
        },
        "ratios": {r.label: r.value for r in ratios(results)},
        "targets": [
            {"goal": t.goal, "measured": t.measured, "result": t.verdict} for t in targets(results)
        ],
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` to `path`, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
