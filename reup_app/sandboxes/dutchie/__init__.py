"""The Dutchie POS sandbox (`reup sandbox dutchie`): the endpoints ReUp calls, faithful to
../shared/specs/dutchie-pos.openapi.json (auth, casing, paging, per-endpoint rate limits, error bodies)."""
