"""The public REST API v1 (FastAPI), mounted beside the internal routes under /api/v1.

`app.build_public_api()` is added to the app's `api_transformer`. Every endpoint resolves the API
key to a Principal (`deps.key_identity`) and calls the services with it; nothing here decides a rule.
"""
