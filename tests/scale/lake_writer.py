"""One writer process for test_lake: append a Parquet file of raw rows to a lake in batches.

Run as ``python lake_writer.py ADDRESS ROWS.parquet GO_FILE BATCH``: opens (and migrates) the
lake, prints ``ready``, waits for GO_FILE so that both writers start together, appends, and
prints one JSON line: rows inserted, commit conflicts retried, start and end (monotonic clock).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from warehouse.lake import LakeSpec, LakeStore


def main(address: str, rows_file: str, go_file: str, batch: int) -> None:
    rows = pq.read_table(rows_file)
    with LakeStore.open_lake(LakeSpec.parse(address), retries=200) as store:
        print("ready", flush=True)
        while not Path(go_file).exists():
            time.sleep(0.01)
        start = time.time()
        inserted = 0
        for offset in range(0, rows.num_rows, batch):
            inserted += store.insert_arrow("raw.feed_fetches", rows.slice(offset, batch))
        end = time.time()
    print(json.dumps({"inserted": inserted, "conflicts": store.conflicts,
                      "start": start, "end": end}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
