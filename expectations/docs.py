"""Static HTML Data Docs: the latest validation of every suite, rebuilt once per run.

Validation itself stays in the process's ephemeral GX context (fast, nothing on disk). At the end
of a run ``build_data_docs`` persists the newest result of each suite validated in this process
as JSON under ``out_dir/.results/``, reloads the newest result of every suite found there (so a
suite last run by another process still shows), and renders GX's site into ``out_dir``. The index
lists exactly one validation per suite: the latest.

GX's pages load Bootstrap, bootstrap-table and jQuery from CDNs, so on a machine without internet
the index is unstyled and its list of validations empty (the list is drawn by bootstrap-table).
``build_data_docs`` therefore copies the files the pages need from ``offline_assets/`` (MIT
licensed, versions as GX asks for them; see its README) into ``out_dir/static/offline/`` and
points every page at them; remote extras the pages work without (icon font, date picker, dark
theme, Vega for profiling graphs) are dropped, so no page asks the network for anything.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from expectations import runner

log = logging.getLogger(__name__)

SITE_NAME = "newsflow"
RESULTS_DIR = ".results"
_SAMPLE_CHARS = 300   # article texts in samples are cut: the page shows which rows, not the text
_HEAVY_KEYS = ("unexpected_list", "unexpected_index_list", "unexpected_index_query")
ASSETS = Path(__file__).with_name("offline_assets")
ASSETS_DIR = "static/offline"  # under out_dir
# A remote <script src> or <link href> in a page GX wrote: the whole tag, and its URL.
_REMOTE_TAG = re.compile(
    r"""<(?P<tag>script|link|img)\b[^>]*?\b(?:src|href)=["'](?P<url>(?:https?:)?//[^"']+)["'][^>]*>"""
    r"""(?:\s*</script>)?""", re.IGNORECASE)


def build_data_docs(out_dir: Path | str) -> Path:
    """Rebuild Data Docs into ``out_dir`` and return the path of its index.html.

    Shows the latest validation of each suite: from this process when it ran the suite,
    otherwise the one persisted under ``out_dir`` by an earlier run. Old validation pages are
    removed; other files in ``out_dir`` (e.g. a volume chart) are left alone.
    """
    started = time.perf_counter()
    out = Path(out_dir).resolve()
    results_dir = out / RESULTS_DIR
    results_dir.mkdir(parents=True, exist_ok=True)
    for latest in runner.latest_validations().values():
        _persist(latest, results_dir)
    records = _load(results_dir)
    with runner._lock:  # the context is shared with validation; GX is not thread-safe
        context = runner.gx_context()
        runner.register_all_suites()
        _point_site_at(context, out)
        _replace_results(context, records)
        shutil.rmtree(out / "validations", ignore_errors=True)
        context.build_data_docs(site_names=[SITE_NAME])
    offline_pages(out)
    index = out / "index.html"
    log.info("Data Docs for %d suites in %s (%.2fs)", len(records), index,
             time.perf_counter() - started)
    return index


def offline_pages(out: Path) -> int:
    """Make every page under ``out`` load only local files; return how many tags were changed.

    A remote script or stylesheet whose file ``offline_assets/`` holds becomes a relative link to
    the copy in ``out/static/offline/``; a remote image GX ships itself (its logo, which it
    otherwise fetches with the data context's id) points at GX's copy in ``out/static/images``;
    any other remote script, stylesheet or image is removed.
    """
    target = out / ASSETS_DIR
    shutil.copytree(ASSETS, target, dirs_exist_ok=True)
    # file name (as the CDN URL ends) -> its path under target; a stylesheet keeps its folder
    # beside the fonts it names
    shipped = {p.name: p.relative_to(ASSETS).as_posix() for p in ASSETS.rglob("*")
               if p.suffix in {".js", ".css"}}
    changed = 0
    for page in out.rglob("*.html"):
        if ASSETS_DIR in page.as_posix() or RESULTS_DIR in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        prefix = os.path.relpath(target, page.parent).replace(os.sep, "/")

        def local(match: re.Match[str], page: Path = page, prefix: str = prefix) -> str:
            name = match["url"].split("?", 1)[0].rsplit("/", 1)[-1]
            if match["tag"].lower() == "img":  # GX's logo: its own copy in static/images
                image = out / "static" / "images" / name
                if not image.is_file():
                    return ""
                here = os.path.relpath(image, page.parent).replace(os.sep, "/")
                return match[0].replace(match["url"], here)
            if name not in shipped:
                return ""
            if match["tag"].lower() == "script":  # no integrity/crossorigin: file:// has no CORS
                return f'<script src="{prefix}/{shipped[name]}"></script>'
            return f'<link rel="stylesheet" href="{prefix}/{shipped[name]}">'

        new, n = _REMOTE_TAG.subn(local, text)
        if n:
            page.write_text(new, encoding="utf-8")
            changed += n
    return changed


def _persist(latest: runner.LatestValidation, results_dir: Path) -> None:
    """Write one suite's newest result as slim JSON (atomically: readers never see half)."""
    record = {
        "suite": latest.suite,
        "table": latest.table,
        "stage": latest.stage,
        "validated_at": latest.validated_at.isoformat(),
        "result": _slim(latest.result.to_json_dict()),
    }
    target = results_dir / f"{latest.suite}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, default=str), encoding="utf-8")
    os.replace(tmp, target)


def _slim(result: dict[str, Any]) -> dict[str, Any]:
    """Drop full unexpected lists (a page needs the sample, not 1,000 article texts)."""
    for item in result.get("results", []):
        detail = item.get("result") or {}
        for key in _HEAVY_KEYS:
            detail.pop(key, None)
        for key in ("partial_unexpected_list", "partial_unexpected_index_list",
                    "partial_unexpected_counts"):
            if key in detail:
                detail[key] = _cut(detail[key])
    return result


def _cut(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= _SAMPLE_CHARS else value[: _SAMPLE_CHARS - 1] + "…"
    if isinstance(value, list):
        return [_cut(v) for v in value]
    if isinstance(value, dict):
        return {k: _cut(v) for k, v in value.items()}
    return value


def _load(results_dir: Path) -> list[dict[str, Any]]:
    """Every persisted suite result; unreadable files are skipped with a warning."""
    records = []
    for path in sorted(results_dir.glob("*.json")):
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            log.warning("skipping unreadable validation result %s: %s", path, exc)
    return records


def _point_site_at(context: Any, out: Path) -> None:
    """One filesystem site rooted at ``out`` (re-pointed when a later call uses another dir)."""
    config = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(out)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    sites = context.list_data_docs_sites()
    if SITE_NAME in sites:
        if sites[SITE_NAME].get("store_backend", {}).get("base_directory") == str(out):
            return
        context.delete_data_docs_site(SITE_NAME)
    context.add_data_docs_site(SITE_NAME, config)


def _replace_results(context: Any, records: list[dict[str, Any]]) -> None:
    """Make the context's (in-memory) results store hold exactly one result per suite."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    store = context.validation_results_store
    for key in store.list_keys():
        store.remove_key(key)
    schema = ExpectationSuiteValidationResultSchema()
    for record in records:
        try:
            result = schema.load(record["result"])
        except Exception as exc:  # a result from another GX version must not stop the others
            log.warning("cannot load stored result of %s: %s", record.get("suite"), exc)
            continue
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=record["suite"]),
            run_id=RunIdentifier(run_name=record["stage"],
                                 run_time=datetime.fromisoformat(record["validated_at"])),
            batch_identifier=record["table"],
        )
        store.set(key, result)
