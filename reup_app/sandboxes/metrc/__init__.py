"""The METRC v2 sandbox: `reup sandbox metrc --port N` (see docs/ARCHITECTURE.md, "Sandboxes")."""
