"""`python -m token_service check-idp [TOKEN]`: would POST /token accept this app token?

Reads the TOKEN_SERVICE_* settings, fetches the IdP's keys (TOKEN_SERVICE_IDP_JWKS_URL or the
public key file) and checks the token with the service's own verifier and scope rules, then says
which setting disagrees with the token. The token comes from the argument or stdin and is never
printed. Exit 0: accepted (the `sub` that would be used is printed); 1: refused or the keys are
unreachable; 2: the settings themselves are wrong.
"""
import argparse
import asyncio
import sys

import jwt

from token_service.auth import check_subject
from token_service.errors import ServiceError
from token_service.idp import AppTokenVerifier, IdpUnavailable, InvalidAppToken, JwksSource, shown
from token_service.routers.token import default_scope
from token_service.settings import Settings, SettingsError


def main(argv, stdin=sys.stdin, out=sys.stdout, err=sys.stderr) -> int:
    parser = argparse.ArgumentParser(prog="python -m token_service check-idp",
                                     description="Would POST /token accept this app token? (settings: TOKEN_SERVICE_*)")
    parser.add_argument("token", nargs="?", default="-",
                        help="the app access token; '-' or nothing reads it from stdin (out of shell history)")
    args = parser.parse_args(argv)
    token = (stdin.read() if args.token == "-" else args.token).strip()
    scheme, _, rest = token.partition(" ")
    if scheme.lower() == "bearer":  # pasted with its header scheme
        token = rest.strip()
    if not token:
        print("check-idp: no token (pass it as the argument or on stdin)", file=err)
        return 2
    try:
        settings = Settings.from_env()
        verifier = AppTokenVerifier.from_settings(settings)
    except SettingsError as exc:
        print("\n".join(f"check-idp: {fault}" for fault in exc.faults), file=err)
        return 2
    return asyncio.run(_check(token, settings, verifier, out))


async def _check(token, settings, verifier, out) -> int:
    def say(line):
        print(line, file=out)

    try:
        header = jwt.get_unverified_header(token)
        say(f"token: {len(token)} characters, alg {shown(header.get('alg'))}, kid {shown(header.get('kid'))}")
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        pass  # the verifier says "malformed token" below
    try:
        keys = await verifier.source.current_keys()
        if isinstance(verifier.source, JwksSource):
            say(f"TOKEN_SERVICE_IDP_JWKS_URL {settings.idp_jwks_url}: {len(keys)} usable key(s), "
                f"kids {', '.join(shown(kid) for kid in sorted(keys))}")
        else:
            say(f"TOKEN_SERVICE_IDP_PUBLIC_KEY_FILE {settings.idp_public_key_file}: loaded")
        claims = await verifier.verify(token)
    except IdpUnavailable as exc:
        say(f"NOT OK: TOKEN_SERVICE_IDP_JWKS_URL {settings.idp_jwks_url}: {exc}")
        return 1
    except InvalidAppToken as exc:
        say(f"NOT OK: POST /token would answer 401 invalid_token: {exc}")
        if exc.detail:
            say(f"  {exc.detail}")
        return 1
    sub = claims["sub"]
    try:
        check_subject(sub)
        paths = default_scope(settings.default_paths, sub)
    except ServiceError as exc:
        say(f"NOT OK: POST /token would answer {exc.status} {exc.error}: {exc.description} (sub {shown(sub)})")
        return 1
    scope = ", ".join(paths) if paths else "every path (TOKEN_SERVICE_DEFAULT_PATHS is empty)"
    say(f"OK: POST /token accepts this token; sub {shown(sub)} would be used; viewing token paths: {scope}")
    return 0
