"""Limits several rooms must agree on, written once."""

from __future__ import annotations

# The largest body newsflow accepts, counted after decompression (NEWSFLOW_MAX_BODY_BYTES's
# default): the HTTP layer stops reading past it, WARC reading skips larger records, and the
# raw-fetch checks flag any stored body above it.
MAX_BODY_BYTES = 15 * 1024 * 1024
