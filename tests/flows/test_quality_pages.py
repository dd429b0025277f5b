"""A checked run links its Data Docs and volume chart from a Prefect artifact."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest


@pytest.mark.usefixtures("prefect_harness")
def test_the_quality_pages_artifact_links_both_pages(tmp_path: Path) -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client

    from flows.quality_report import pages_artifact

    docs, chart = tmp_path / "index.html", tmp_path / "volume.html"
    docs.write_text("docs")
    chart.write_text("chart")

    @flow(name="pages-artifact-test")
    def run() -> None:
        pages_artifact(docs, chart)

    state = run(return_state=True)

    async def artifacts() -> list[tuple[str, str]]:
        async with get_client() as client:
            found = await client.read_artifacts()
            return [(a.key or "", str(a.data)) for a in found
                    if a.flow_run_id == state.state_details.flow_run_id]

    [(key, markdown)] = asyncio.run(artifacts())
    assert key == "quality-pages"
    assert f"[Data Docs]({docs.resolve().as_uri()})" in markdown
    assert f"[Volume chart]({chart.resolve().as_uri()})" in markdown
    pages_artifact(docs, chart)  # outside a flow run: nothing, and no error
