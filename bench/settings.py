"""Settings of the API throughput benchmark's server (`bench/api_throughput.py`).

The production settings, plus the floor endpoint's URLs: a server started with these settings and
`SALJSITE_BENCH_FLOOR=1` also answers `POST /bench/floor/activities/` (see `bench/floor_urls.py`).
Production never loads this module; `saljsite/urls.py` knows nothing of the floor.
"""

from __future__ import annotations

from saljsite.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
