"""`python -m token_service`: serve (default), or the operator's key commands.

    python -m token_service [--host H] [--port P] [--workers N]
    python -m token_service keys new PATH          writes a new private key PEM, prints its kid
    python -m token_service keys jwks PEM... [--kid KID ...]   prints the public JWKS
    python -m token_service check-idp [TOKEN]      would POST /token accept this app token? (stdin if no TOKEN)
"""
import argparse
import json
import os
import pathlib
import sys

from token_service import keys
from token_service.settings import SettingsError


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["keys"]:
        return _keys(argv[1:])
    if argv[:1] == ["check-idp"]:
        from token_service import check_idp
        return check_idp.main(argv[1:])
    return _serve(argv)


def _serve(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m token_service",
                                     description="Serve the token service (settings: TOKEN_SERVICE_* variables).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")

    import uvicorn  # after argument parsing so `--help` and `keys` stay quick

    from token_service.app import create_app
    try:
        app = create_app()  # validates settings and keys here, so a bad one stops start-up
    except SettingsError as exc:
        print("\n".join(f"token_service: {fault}" for fault in exc.faults), file=sys.stderr)
        return 2
    # One worker serves the app it already built; several each build their own from the same env.
    target = app if args.workers == 1 else "token_service.app:create_app"
    uvicorn.run(target, factory=args.workers > 1, host=args.host, port=args.port, workers=args.workers,
                access_log=False, server_header=False)
    return 0


def _keys(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m token_service keys", description="Signing key tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new", help="write a new RSA-2048 private key PEM (mode 0600) and print its kid")
    new.add_argument("path", type=pathlib.Path)
    publish = commands.add_parser("jwks", help="print the public JWKS of the keys in these PEM files")
    publish.add_argument("pems", nargs="+", type=pathlib.Path, metavar="PEM")
    publish.add_argument("--kid", action="append", default=[],
                         help="kid for each key in order (default: RFC 7638 thumbprint); repeat per key")
    args = parser.parse_args(argv)
    try:
        if args.command == "new":
            print(_new_key(args.path))
        else:
            print(json.dumps(_jwks(args.pems, args.kid), indent=2))
    except (OSError, ValueError) as exc:
        print(f"token_service keys {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


def _new_key(path: pathlib.Path) -> str:
    key = keys.new_private_key()
    # O_EXCL: never overwrite a key that may still be signing; 0600: the key is a secret.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(keys.private_key_pem(key))
    return keys.thumbprint(key)


def _jwks(paths, kids) -> dict:
    private_keys = []
    for path in paths:
        try:
            private_keys.extend(keys.load_private_keys_pem(path.read_bytes()))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    if kids and len(kids) != len(private_keys):
        raise ValueError(f"{len(kids)} --kid values for {len(private_keys)} keys")
    return keys.jwks(keys.public_jwk(key, kid) for key, kid in zip(private_keys, kids or [None] * len(private_keys)))
