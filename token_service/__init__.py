"""Token service: exchanges an app access token for a short-lived RS256 viewing token.

`token_service.keys` (key helpers shared with the Pulumi program and the local stack),
`token_service.app:create_app` (the FastAPI app), `python -m token_service` (serve, key CLI).
"""
