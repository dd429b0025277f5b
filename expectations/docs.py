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
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from expectations import runner
from expectations.report import CheckResult, StageReport

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


def build_data_docs(out_dir: Path | str,
                    stored: Iterable[runner.LatestValidation] = ()) -> Path:
    """Rebuild Data Docs into ``out_dir`` and return the path of its index.html.

    Shows the latest validation of each suite: ``stored`` (the newest results recorded in
    quality.validations, read by the daily report) or this process's own when newer, otherwise
    the one persisted under ``out_dir`` by an earlier build. Old validation pages are removed;
    other files in ``out_dir`` (e.g. a volume chart) are left alone.
    """
    started = time.perf_counter()
    out = Path(out_dir).resolve()
    results_dir = out / RESULTS_DIR
    results_dir.mkdir(parents=True, exist_ok=True)
    newest: dict[str, runner.LatestValidation] = {}
    for latest in [*stored, *runner.latest_validations().values()]:
        if latest.suite not in newest or latest.validated_at >= newest[latest.suite].validated_at:
            newest[latest.suite] = latest
    with runner._lock:  # the context is shared with validation; GX is not thread-safe
        context = runner.gx_context()
        runner.register_all_suites()
        for latest in newest.values():
            _persist(latest, results_dir)
    records = _load(results_dir)
    with runner._lock:
        _point_site_at(context, out)
        _replace_results(context, records)
        shutil.rmtree(out / "validations", ignore_errors=True)
        context.build_data_docs(site_names=[SITE_NAME])
    offline_pages(out)
    index = out / "index.html"
    log.info("Data Docs for %d suites in %s (%.2fs)", len(records), index,
             time.perf_counter() - started)
    return index


def stored_validations(rows: Iterable[Mapping[str, Any]]) -> list[runner.LatestValidation]:
    """Each suite's newest report rebuilt from its quality.validations rows (as
    ``warehouse.checks.newest_validations`` reads them), in the suite's check order."""
    by_suite: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_suite.setdefault(str(row["suite"]), []).append(row)
    out = []
    for suite, found in by_suite.items():
        order = {c.name: i for i, c in enumerate(runner.checks_of_suite(suite))}
        found.sort(key=lambda r: order.get(str(r["expectation"]), len(order)))
        results = tuple(CheckResult(
            suite=suite, expectation=str(r["expectation"]), column=r["column_name"],
            success=bool(r["success"]), blocking=bool(r["blocking"]),
            observed_value=r["observed_value"], element_count=r["element_count"],
            unexpected_count=r["unexpected_count"],
            unexpected_sample=tuple(json.loads(r["unexpected_sample"] or "[]")), why=r["why"] or "",
            failing_event_ids=()) for r in found)
        first = found[0]
        rows_checked = next((int(str(r.observed_value)) for r in results
                             if r.expectation == "batch_not_empty"
                             and str(r.observed_value).isdigit()), 0)
        report = StageReport(stage=str(first["stage"]), table=str(first["table_name"]),
                             suite=suite, row_count=rows_checked, results=results)
        out.append(runner.LatestValidation(suite, report.table, report.stage,
                                           first["validated_at"], report))
    return out


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
    result = (latest.result.to_json_dict() if latest.result is not None
              else _as_gx_result(latest))
    record = {
        "suite": latest.suite,
        "table": latest.table,
        "stage": latest.stage,
        "validated_at": latest.validated_at.isoformat(),
        "result": _slim(result),
    }
    target = results_dir / f"{latest.suite}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, default=str), encoding="utf-8")
    os.replace(tmp, target)


def _as_gx_result(latest: runner.LatestValidation) -> dict[str, Any]:
    """A result the native engine computed, in GX's result format (the GX suite built from the
    same declarations supplies each expectation's configuration), so GX renders it."""
    import great_expectations as gx

    configs = {e.meta.get("name"): e.configuration.to_json_dict()
               for e in runner.suite_expectations(latest.suite)}
    results = []
    for r in latest.report.results:
        config = configs.get(r.expectation)
        if config is None:  # validator_error: the suite did not run; nothing to render per check
            continue
        if r.element_count is None:
            detail: dict[str, Any] = {"observed_value": r.observed_value}
        else:
            unexpected = r.unexpected_count or 0
            detail = {"element_count": r.element_count, "unexpected_count": unexpected,
                      "unexpected_percent": (100 * unexpected / r.element_count
                                             if r.element_count else None),
                      "partial_unexpected_list": list(r.unexpected_sample)}
        results.append({"success": r.success, "expectation_config": config, "result": detail,
                        "meta": {}, "exception_info": {"raised_exception": False,
                                                       "exception_traceback": None,
                                                       "exception_message": None}})
    passed = sum(1 for r in results if r["success"])
    return {
        "success": latest.report.success, "results": results, "suite_name": latest.suite,
        "suite_parameters": {},
        "statistics": {"evaluated_expectations": len(results), "successful_expectations": passed,
                       "unsuccessful_expectations": len(results) - passed,
                       "success_percent": 100 * passed / len(results) if results else None},
        "meta": {"great_expectations_version": gx.__version__,
                 "run_id": {"run_name": latest.stage,
                            "run_time": latest.validated_at.isoformat()},
                 "checked_by": "newsflow native engine (expectations.engine)",
                 "active_batch_definition": {"datasource_name": "newsflow",
                                             "data_connector_name": "fluent",
                                             "data_asset_name": latest.suite,
                                             "batch_identifiers": {}}},
    }


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
