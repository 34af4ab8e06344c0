"""The ``file://`` backend URLs zenprovision gives the Pulumi CLI name the folder it means.

The CLI cannot run here, so each URL is read by a Python re-implementation of the Go code the
CLI runs (read from the sources, not guessed):

- ``go_parse``: Go's ``net/url.Parse`` (src/net/url/url.go: ``Parse``, ``parse``, ``setPath``,
  ``setFragment``, ``unescape``): the fragment is cut at the first '#', the query at the first
  '?', the path is percent-decoded, and a '%' not followed by two hex digits is an
  ``invalid URL escape`` error; ``url.URL.Query`` (``parseQuery``) drops malformed pairs.
- ``pulumi_massage``: pulumi's ``massageBlobPath`` (pkg/backend/diy/backend.go): the original
  URL must parse; its query gets ``no_tmp_dir=true``; the path is the raw text after
  ``file://`` up to the first '?', ``~`` expanded, made absolute (``filepath.Abs``), and the
  URL rebuilt as ``file://`` + path + ``?`` + ``query.Encode()``.
- ``fileblob_folder``: gocloud's ``blob.URLMux.OpenBucket`` then ``fileblob.URLOpener.OpenBucketURL``
  and ``forParams`` (blob/fileblob/fileblob.go): the folder is the parsed URL's decoded ``Path``
  (made absolute by ``openBucket``), and a query key other than the recognized ones is an error.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from zenprovision import home_push
from zenprovision.engines.pulumi_cli import backend, paths, records, session
from zenprovision.errors import InputError
from zenprovision.homes.location import Location
from zenprovision.homes.objects import LocalObjects

# Folder names that a URL parser reads otherwise than as they are.
AWKWARD = ["my home", "a%20b", "a%zz", "100%", "a#b", "a?b", "a?create_dir=1", "a?no_tmp_dir=false",
           "a%2Fb", "a+b", "a;b&c=d", "ünï", "tab\there"]


class GoURLError(ValueError):
    """What Go's ``url.Parse`` or the blob opener return as ``err``."""


@dataclass
class GoURL:
    scheme: str
    host: str
    path: str
    raw_query: str
    fragment: str
    query: dict[str, list[str]] = field(default_factory=dict)


def go_unescape(text: str, query_component: bool = False) -> str:
    """url.go ``unescape`` (path, fragment and query modes): strict about '%', '+' a space in a query only."""
    bad = re.search(r"%(?![0-9A-Fa-f]{2})", text)
    if bad:
        raise GoURLError(f"invalid URL escape {text[bad.start():bad.start() + 3]!r}")
    raw = text.encode("utf-8", "surrogateescape")
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i:i + 1] == b"%":
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out += b" " if query_component and raw[i:i + 1] == b"+" else raw[i:i + 1]
            i += 1
    return bytes(out).decode("utf-8", "surrogateescape")


def go_parse_query(raw_query: str) -> dict[str, list[str]]:
    """url.go ``parseQuery`` as ``URL.Query`` uses it: split at '&', malformed pairs silently dropped."""
    values: dict[str, list[str]] = {}
    for pair in raw_query.split("&"):
        if ";" in pair or not pair:
            continue
        key, _, value = pair.partition("=")
        try:
            values.setdefault(go_unescape(key, True), []).append(go_unescape(value, True))
        except GoURLError:
            continue
    return values


def go_parse(raw: str) -> GoURL:
    """url.go ``Parse`` for ``scheme://authority/path?query#fragment`` URLs."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise GoURLError("net/url: invalid control character in URL")
    rest, _, fragment = raw.partition("#")
    scheme, _, rest = rest.partition(":")
    if rest.endswith("?") and rest.count("?") == 1:
        rest, raw_query = rest[:-1], ""
    else:
        rest, _, raw_query = rest.partition("?")
    host = ""
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        host, rest = go_unescape(authority), slash + path
    return GoURL(scheme.lower(), host, go_unescape(rest), raw_query,
                 go_unescape(fragment) if fragment else "", go_parse_query(raw_query))


def go_query_encode(values: dict[str, list[str]]) -> str:
    """url.go ``Values.Encode`` (``QueryEscape``: only unreserved characters stay as they are)."""
    from urllib.parse import quote_plus

    return "&".join(f"{quote_plus(k, safe='-_.~')}={quote_plus(v, safe='-_.~')}"
                    for k in sorted(values) for v in values[k])


def pulumi_massage(url: str) -> str:
    """pkg/backend/diy/backend.go ``massageBlobPath`` for a ``file://`` URL."""
    query = go_parse(url).query  # "parsing the provided URL" fails as Parse does
    if not query.get("no_tmp_dir", [""])[0]:
        query["no_tmp_dir"] = ["true"]
    elif query["no_tmp_dir"][0] == "false":
        del query["no_tmp_dir"]
    path = url.removeprefix("file://").split("?")[0]
    if path.startswith("~"):
        path = os.path.expanduser("~") if path == "~" else posixpath.join(os.path.expanduser("~"), path[2:])
    path = posixpath.normpath(path if path.startswith("/") else posixpath.join(os.getcwd(), path))
    return "file://" + path + ("?" + go_query_encode(query) if query else "")


def fileblob_folder(url: str) -> str:
    """blob/fileblob/fileblob.go ``URLOpener.OpenBucketURL``, ``forParams`` and ``openBucket``."""
    parsed = go_parse(url)
    recognized = {"create_dir", "base_url", "secret_key_path", "metadata", "no_tmp_dir", "dir_file_mode"}
    unknown = sorted(set(parsed.query) - recognized)
    if unknown:
        raise GoURLError(f"invalid query parameter {unknown[0]!r}")
    path = parsed.path.removeprefix("/") if parsed.host == "." else parsed.path
    return posixpath.normpath(path if path.startswith("/") else posixpath.join(os.getcwd(), path))


def pulumi_folder(url: str) -> str:
    """The folder the Pulumi CLI keeps a ``file://`` backend's state in, or GoURLError."""
    return fileblob_folder(pulumi_massage(url))


# ---- the re-implementation reads the URLs as the Go code does ----------------------------------

@pytest.mark.parametrize(("url", "folder"), [
    ("file:///srv/state", "/srv/state"),
    ("file:///srv/my%20state", "/srv/my state"),
    ("file:///srv/my state", "/srv/my state"),  # Go's parser takes a space in a path as it is
    ("file:///srv/a#b/state", "/srv/a"),  # '#' starts the fragment
    ("file:///srv/a?create_dir=1", "/srv/a"),  # '?' starts the query
    ("file:///srv/a%2Fb", "/srv/a/b"),
    ("file://localhost/srv/x", os.path.join(os.getcwd(), "localhost/srv/x")),  # massageBlobPath's own reading
])
def test_the_go_reading_of_urls(url, folder):
    assert pulumi_folder(url) == folder


@pytest.mark.parametrize("url", ["file:///srv/a%zz", "file:///srv/100%", "file:///srv/a?b/c", "file:///srv/a#%zz"])
def test_urls_the_cli_refuses(url):
    with pytest.raises(GoURLError):
        pulumi_folder(url)


# ---- what zenprovision gives the CLI ------------------------------------------------------------

@pytest.mark.parametrize("name", AWKWARD)
def test_default_backend_names_the_homes_state_folder_whatever_its_name(tmp_path, monkeypatch, name):
    home = tmp_path / name
    monkeypatch.setenv("ZENPROVISION_HOME", str(home))
    monkeypatch.delenv(backend.BACKEND_ENV, raising=False)
    url = backend.resolve()
    assert pulumi_folder(url) == str(paths.state_dir()) == str(home / "pulumi" / "state")
    assert backend.local_folder(url) == paths.state_dir()
    assert session.workspace_env(url)["PULUMI_BACKEND_URL"] == url
    backend.prepare(url)  # the folder the CLI opens exists (fileblob opens only an existing one)
    assert paths.state_dir().is_dir()


@pytest.mark.parametrize("name", AWKWARD)
def test_a_folder_home_elsewhere_gets_a_backend_naming_its_state_folder(tmp_path, monkeypatch, name):
    team = tmp_path / name
    monkeypatch.setenv("ZENPROVISION_HOME", str(team))
    monkeypatch.setenv("ZENPROVISION_LOCAL_HOME", str(tmp_path / "local"))
    monkeypatch.setattr(backend.home, "shared", lambda: Location("file", path=team))
    monkeypatch.setattr(backend.home, "home", lambda: tmp_path / "local")
    url = backend.default_url()
    assert pulumi_folder(url) == backend.local_folder(url).as_posix() == str(team / "pulumi" / "state")


@pytest.mark.parametrize("name", AWKWARD)
def test_a_pushed_homes_backend_names_its_state_folder(tmp_path, name):
    source, target = tmp_path / "source", tmp_path / name
    (source / "pulumi" / "state").mkdir(parents=True)
    (source / "pulumi" / "stacks").mkdir()
    record = {"stack": "p1", "backend": backend.folder_url(source / "pulumi" / "state")}
    (source / "pulumi" / "stacks" / "p1.json").write_text(json.dumps(record))
    objects = LocalObjects(Location("file", path=target))
    items = home_push.plan(source, objects)
    moved = json.loads(next(i for i in items if i.key == "pulumi/stacks/p1.json").data)["backend"]
    assert pulumi_folder(moved) == str(target / "pulumi" / "state")


@pytest.mark.parametrize("name", ["my home", "a%20b"])
def test_a_record_written_the_old_way_is_moved_by_a_push_when_its_state_is_what_is_copied(tmp_path, name):
    """Versions before 2026-12-03 recorded ``file://`` and the path as it is: moved if the CLI read it as that folder."""
    source, target = tmp_path / name, tmp_path / "target"
    (source / "pulumi" / "state").mkdir(parents=True)
    (source / "pulumi" / "stacks").mkdir()
    legacy = f"file://{source}/pulumi/state"
    (source / "pulumi" / "stacks" / "p1.json").write_text(json.dumps({"stack": "p1", "backend": legacy}))
    items = home_push.plan(source, LocalObjects(Location("file", path=target)))
    moved = json.loads(next(i for i in items if i.key == "pulumi/stacks/p1.json").data)["backend"]
    if pulumi_folder(legacy) == str(source / "pulumi" / "state"):  # a space: the CLI read it right
        assert pulumi_folder(moved) == str(target / "pulumi" / "state")
    else:  # the CLI kept that stack's state elsewhere: the record still says where
        assert moved == legacy


# ---- URLs the user gives --------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["file:///srv/my%20state", "file:///srv/my state", "file:///srv/s?create_dir=1",
                                 "file://~/state", "s3://bucket/p?region=eu-west-1&endpoint=http://x%3A9000"])
def test_a_users_backend_url_reaches_the_cli_untouched(home, monkeypatch, url):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "the team's")
    monkeypatch.setenv(backend.BACKEND_ENV, url)
    assert backend.resolve() == url == backend.resolve(url)
    assert session.workspace_env(url)["PULUMI_BACKEND_URL"] == url


@pytest.mark.parametrize("url", ["file:///srv/my%20state", "file:///srv/s?create_dir=1", "file:///srv/a#b",
                                 "file://~/state", "file:///srv/a%2Fb"])
def test_the_folder_made_for_a_users_file_backend_is_the_one_the_cli_opens(url):
    assert backend.local_folder(url).as_posix() == pulumi_folder(url)


@pytest.mark.parametrize("url", ["file:///srv/a%zz", "file:///srv/100%", "file:///srv/a#%zz"])
def test_a_file_backend_the_cli_cannot_parse_is_refused_in_one_line(home, url):
    with pytest.raises(GoURLError):
        pulumi_folder(url)
    with pytest.raises(InputError, match="no percent-escape") as caught:
        backend.resolve(url)
    assert "%25" in caught.value.hint
    assert "%zz" in backend.describe_locks(url) or "100%" in backend.describe_locks(url)  # never raises


# ---- stacks recorded before the URLs were encoded -----------------------------------------------

@pytest.mark.parametrize("name", ["my home", "a%20b", "a#b"])
def test_a_stack_recorded_with_the_old_url_stays_where_the_cli_put_it(tmp_path, monkeypatch, name):
    """A record holds ``file://`` + the raw path: the stack keeps that URL (its state is where the CLI read it)."""
    monkeypatch.setenv("ZENPROVISION_HOME", str(tmp_path / name))
    monkeypatch.delenv(backend.BACKEND_ENV, raising=False)
    from zenprovision.engines.pulumi_cli.engine import PulumiEngine

    legacy = f"file://{paths.state_dir()}"
    records.save(records.StackRecord(stack="dev", recipe="files", recipe_path="/r", project="files",
                                     backend=legacy, work_dir="/w"))
    engine = PulumiEngine()
    assert engine.backend == backend.folder_url(paths.state_dir()) != legacy
    assert engine._backend_of("dev") == legacy
    with pytest.raises(InputError, match="lives in the backend"):
        PulumiEngine(backend="file:///elsewhere")._backend_of("dev")


def test_two_spellings_of_one_folder_are_one_backend():
    assert backend.same("file:///srv/my state", "file:///srv/my%20state")
    assert backend.same("file:///srv/a#b", "file:///srv/a%23b")  # the old spelling of our URL
    assert not backend.same("file:///srv/a", "file:///srv/b")
    assert not backend.same("file:///srv/a", "s3://srv/a")
    assert backend.same("s3://b/p", "s3://b/p")


def test_the_urls_built_the_old_way_are_misread(tmp_path):
    """What the fix is for: ``file://`` + the path as it is names another folder, or the CLI refuses it."""
    for name in ("a%20b", "a%zz", "100%", "a#b", "a?b", "a?create_dir=1", "a%2Fb"):
        folder = str(tmp_path / name / "pulumi" / "state")
        try:
            assert pulumi_folder(f"file://{folder}") != folder
        except GoURLError:
            pass
        assert pulumi_folder(backend.folder_url(Path(folder))) == folder
