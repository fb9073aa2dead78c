"""The documentation holds together: every relative link and #anchor in README.md and docs/*.md
resolves, the README stays a short front door, nothing in the repository points outside it at
the team's shared notes, and every refusal code the edge and the token service produce is listed
in docs/reference.md."""
import pathlib
import re
import urllib.parse

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 260
# Built in two parts so that this file does not match itself.
OUTSIDE_REFERENCE = "../" + "shared"
SKIPPED_DIRS = {".git", ".venv", ".local", "build", "dist", "test-artifacts", "node_modules",
                "__pycache__", ".pytest_cache"}

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)


def prose_lines(text):
    """(line number, line) outside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * len(match.group(1))
        elif fence is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            fence = None
        elif fence is None:
            yield number, line


def github_slug(heading):
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation removed, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps only its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path):
    seen, found = {}, set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        found.update(HTML_ANCHOR.findall(line))
        match = HEADING.match(line)
        if match:
            slug = github_slug(match.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(path):
    """(line number, target) of every link and image in the prose of a Markdown file."""
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        line = INLINE_CODE.sub("", line)
        for target in INLINE_LINK.findall(line):
            yield number, target
        match = REFERENCE_DEFINITION.match(line)
        if match:
            yield number, match.group(1)


def broken_links(path, root=ROOT):
    problems = []
    for number, target in links(path):
        where = f"{path.relative_to(root)}:{number}: {target!r}"
        parts = urllib.parse.urlsplit(target)
        if parts.scheme or target.startswith("//"):
            continue  # external (https:, mailto:): not checked offline
        file_part, _, fragment = target.partition("#")
        destination = (path.parent / urllib.parse.unquote(file_part)).resolve() if file_part else path
        if root not in destination.parents:
            problems.append(f"{where} points outside the repository")
        elif not destination.exists():
            problems.append(f"{where} names a missing file")
        elif fragment and destination.suffix == ".md" and urllib.parse.unquote(fragment) not in anchors(destination):
            problems.append(f"{where} names a missing anchor")
    return problems


def repository_files():
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if path.is_file() and not SKIPPED_DIRS.intersection(relative.parts) \
                and not any(part.endswith(".egg-info") for part in relative.parts):
            yield path


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(path):
    assert broken_links(path) == []


def test_the_docs_pages_exist():
    names = {p.name for p in DOCS}
    for page in ("frontend.md", "identity-providers.md", "deploy.md", "operations.md", "reference.md",
                 "design.md", "local-stack.md"):
        assert page in names


def test_readme_is_a_short_front_door():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES
    # The first lines are the two commands: run it all, test it all.
    head = "\n".join(lines[:8])
    assert "make dev" in head and "make test" in head


def test_nothing_refers_outside_the_repository_to_the_shared_notes():
    offenders = [str(p.relative_to(ROOT)) for p in repository_files()
                 if OUTSIDE_REFERENCE.encode() in p.read_bytes()]
    assert offenders == []


# The checker itself, on documents written for the purpose: it must be able to fail.

def test_checker_finds_a_missing_file_a_missing_anchor_and_an_escape(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## Keys, SSM refresh and caching\n")
    page = tmp_path / "README.md"
    page.write_text(
        "# Title\n\n"
        "[fine](docs/a.md#keys-ssm-refresh-and-caching) [self](#title) [web](https://example.com/x)\n"
        "[gone](docs/b.md) [no anchor](docs/a.md#keys) ![pic](docs/missing.png)\n"
        "[escape](../elsewhere.md) `[in code](docs/nope.md)`\n\n"
        "```sh\n# not a heading\n[in a fence](docs/nope.md)\n```\n")
    problems = broken_links(page, root=tmp_path.resolve())
    assert [p.split(": ", 1)[1] for p in problems] == [
        "'docs/b.md' names a missing file",
        "'docs/a.md#keys' names a missing anchor",
        "'docs/missing.png' names a missing file",
        "'../elsewhere.md' points outside the repository",
    ]


def test_slugs_follow_github():
    assert github_slug("Path scopes (`paths` claim)") == "path-scopes-paths-claim"
    assert github_slug("`.local/stack.json`") == "localstackjson"
    assert github_slug("Missing files: 404 locally, 403 in AWS") == "missing-files-404-locally-403-in-aws"
    assert github_slug("1. Get a viewing token") == "1-get-a-viewing-token"
    assert github_slug("The token service (`token_service/`)") == "the-token-service-token_service"


# Every refusal the code can produce is listed in the reference.

DENIAL = re.compile(r"\b(?:MissingToken|InvalidRequest|InvalidToken|InsufficientScope|MethodNotAllowed|Unavailable)"
                    r"\(\s*(f?)\"([a-z_{}]+)\"")
SERVICE_ERROR = re.compile(r"(?:ServiceError|error_response)\((?:request, )?(\d{3}), \"([a-z_]+)\"")


def edge_reason_codes():
    codes = {"internal_error", "config_error"}  # logged by the handler itself, not raised
    for path in (ROOT / "edge").glob("*.py"):
        for formatted, code in DENIAL.findall(path.read_text(encoding="utf-8")):
            # The one formatted code: bad_{name} for each NumericDate claim (edge/tokens.py).
            codes.update({code.replace("{name}", claim) for claim in ("exp", "iat", "nbf")} if formatted else {code})
    return codes


def test_every_edge_reason_code_is_in_the_reference():
    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    codes = edge_reason_codes()
    assert {"no_token", "bad_signature", "out_of_scope", "bad_exp"} <= codes  # the scan finds them
    assert sorted(code for code in codes if f"`{code}`" not in reference) == []


def test_every_token_service_status_and_error_is_in_the_reference():
    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    pairs = {pair for path in (ROOT / "token_service").rglob("*.py")
             for pair in SERVICE_ERROR.findall(path.read_text(encoding="utf-8"))}
    assert ("401", "invalid_token") in pairs
    listed = re.findall(r"^\| ([\d, ]+) \| ((?:`[a-z_]+`(?: / )?)+) \|", reference, re.M)
    documented = {(status.strip(), error) for statuses, errors in listed
                  for status in statuses.split(",") for error in re.findall(r"`([a-z_]+)`", errors)}
    assert sorted(pairs - documented) == []
