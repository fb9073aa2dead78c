"""Build the deployable Lambda@Edge zip: `python -m edge.package CONFIG.json OUT.zip`.

The zip holds the edge runtime modules under `edge/` at its root plus `edge/config.json`,
the validated configuration with every default filled in. The same input gives the same
bytes (fixed timestamps and order), so `pulumi up` publishes a new version only when
something really changed. A bad config is a ConfigError and leaves no zip behind.
"""
import json
import os
import pathlib
import sys
import tempfile
import zipfile

from edge.config import ConfigError, load_config

SOURCE_DIR = pathlib.Path(__file__).parent
BUILD_ONLY = {"package.py"}  # modules not needed at run time
_EPOCH = (1980, 1, 1, 0, 0, 0)


def runtime_modules():
    return sorted(p for p in SOURCE_DIR.glob("*.py") if p.name not in BUILD_ONLY)


def _add(archive, name, data):
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data, compresslevel=9)


def build_package(config: dict, out_path) -> pathlib.Path:
    """Validate `config` and write the zip to `out_path` atomically; ConfigError if unusable."""
    rendered = json.dumps(load_config(config).to_json(), indent=1, sort_keys=True) + "\n"
    out_path = pathlib.Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=out_path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w") as archive:
            for module in runtime_modules():
                _add(archive, f"edge/{module.name}", module.read_bytes())
            _add(archive, "edge/config.json", rendered.encode())
        os.replace(tmp, out_path)
    except BaseException:
        os.unlink(tmp)
        raise
    return out_path


def main(argv):
    if len(argv) != 2:
        print("usage: python -m edge.package CONFIG.json OUT.zip", file=sys.stderr)
        return 2
    config_path, out_path = argv
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
        path = build_package(config, out_path)
    except (OSError, ValueError) as exc:  # ConfigError and JSON errors are ValueErrors
        kind = "config error" if isinstance(exc, ConfigError) else "error"
        print(f"edge.package: {kind}: {exc}", file=sys.stderr)
        return 1
    print(f"{path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
