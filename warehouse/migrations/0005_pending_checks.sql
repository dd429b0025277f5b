-- Checks that cannot be skipped (issue 18). A stage that commits a batch to be checked writes,
-- in the same transaction, a row here naming the batch: its run and table (raw tables find
-- their batch by run_id) and, for core.articles, the article keys it touched. The checks delete
-- the row once their results are recorded. A process killed between the two leaves the row, and
-- the next writer checks that batch before it does anything else, with the quarantines a clean
-- run would have made; until then analytics.* leaves the batch's articles out.
CREATE TABLE quality.pending_checks (
    run_id      VARCHAR NOT NULL,
    stage       VARCHAR NOT NULL,
    table_name  VARCHAR NOT NULL,
    part        INTEGER NOT NULL,      -- one row per committed batch of the stage
    keys        VARCHAR[],             -- core.articles: the article keys of the batch
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, table_name, part)
);
