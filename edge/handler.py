"""Lambda@Edge viewer-request entry point. Handler string: `edge.handler.handler`.

Lambda@Edge has no environment variables: the configuration is `edge/config.json`, baked
into the package by `python -m edge.package`. If it cannot be loaded, every request is
refused with a 503 (fail closed) and a log line says why.
"""
import json
import os

from edge.authorizer import _FALLBACK, Authorizer
from edge.config import load_config_file

CONFIG_PATH = os.path.join(os.path.dirname(__file__), "config.json")

try:
    _authorizer = Authorizer(load_config_file(CONFIG_PATH))
    _load_error = None
except Exception as exc:  # fail closed, but keep answering
    _authorizer = None
    _load_error = f"{type(exc).__name__}: {exc}"


def handler(event, context):
    if _authorizer is None:
        print(json.dumps({"outcome": "deny", "status": 503, "reason": "config_error", "error": _load_error}))
        return dict(_FALLBACK)
    return _authorizer.handle(event)
