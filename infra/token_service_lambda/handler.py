"""Lambda entry of the token service, copied into its zip as `token_service_lambda/handler.py`.

Mangum turns function URL events into ASGI calls on the FastAPI app. The app is built once per
container at import: settings come from the TOKEN_SERVICE_* environment the Pulumi program sets,
and the signing keys are read from SSM then, not on every request. What such a cold start costs,
and why the zip ships bytecode and the start imports no boto3: docs/design.md, "Token service on Lambda".
"""
from mangum import Mangum

from token_service.app import create_app

# Lifespan off: the app does its start-up work in create_app, and function URLs have no shutdown.
handler = Mangum(create_app(), lifespan="off")
