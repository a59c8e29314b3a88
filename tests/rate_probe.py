"""One process of the shared-rate-budget test: GETs through MetrcClient with the Redis limiter for
`seconds`. Usage: python tests/rate_probe.py URL REDIS_URL LICENSE SECONDS FACILITY_RATE VENDOR_RATE"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from reup_app.integrations.http.ratelimit import limiter_for
from reup_app.integrations.metrc import MetrcClient, MetrcCredentials
from reup_app.integrations.metrc.client import MetrcLimits

if __name__ == "__main__":
    url, redis_url, lic, seconds, facility, vendor, prefix = sys.argv[1:8]
    client = MetrcClient(
        url,
        MetrcCredentials("probe-vendor-key", "probe-user-key"),
        limits=MetrcLimits(float(facility), float(vendor)),
        limiter=limiter_for(redis_url, prefix=prefix),
    )
    end = time.monotonic() + float(seconds)
    calls = 0
    while time.monotonic() < end:
        client.transfer_types(lic)
        calls += 1
    print(calls)
