"""A stand-in ``pulumi`` for tests: logs every argv and answers the config commands like the CLI.

It knows each subcommand's documented flags (pulumi ``pkg/cmd/pulumi/config/config.go``,
``stack/stack_new.go``, ``stack/stack_select.go`` and the global flags of ``pulumi.go``) and
fails, as cobra does, on any other flag. It stores stack config the way the CLI's
``config.Value`` does (text, object, secure), in ``$FAKE_PULUMI_STATE/<stack>.json``.
Stack outputs come from ``<stack>.outputs.json`` there (``{name: {"value", "secret"}}``).
Run as ``python tests/fake_pulumi.py ARGS``; the log is ``$FAKE_PULUMI_STATE/argv.jsonl``, and
``env.jsonl`` beside it has, per call, the backend URL and which passphrase variables were set
(their names only).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

GLOBAL = {"--non-interactive", "--color", "--cwd", "-C", "--logtostderr", "--verbose", "-v", "--emoji"}
# subcommand -> (boolean flags, flags that take a value)
FLAGS: dict[tuple[str, ...], tuple[set[str], set[str]]] = {
    ("version",): (set(), set()),
    ("stack", "select"): ({"--create", "-c"}, {"--stack", "-s", "--secrets-provider"}),
    ("stack", "output"): ({"--json", "-j", "--show-secrets", "--shell"}, {"--stack", "-s"}),
    ("stack", "init"): ({"--no-select", "--remote-config", "--yes", "-y"},
                        {"--stack", "-s", "--secrets-provider", "--copy-config-from", "--teams"}),
    ("config",): ({"--show-secrets", "--open", "--json", "-j"}, {"--stack", "-s", "--config-file"}),
    ("config", "set-all"): ({"--path"}, {"--plaintext", "--secret", "--json", "--stack", "-s", "--config-file"}),
    ("config", "rm-all"): ({"--path"}, {"--stack", "-s", "--config-file"}),
    ("config", "set"): ({"--path", "--plaintext", "--secret", "--raw"}, {"--type", "--stack", "-s", "--config-file"}),
}


class Usage(Exception):
    pass


def parse(argv: list[str]) -> tuple[tuple[str, ...], dict[str, list[str]], list[str]]:
    """(command, flags -> values, positional args), rejecting undocumented flags like cobra."""
    words = [a for a in argv if a in ("version", "stack", "select", "init", "output", "config", "set-all", "rm-all",
                                      "set")]
    command = next((c for c in sorted(FLAGS, key=len, reverse=True) if tuple(words[:len(c)]) == c), None)
    if command is None:
        raise Usage(f"unknown command {argv}")
    booleans, valued = FLAGS[command]
    flags: dict[str, list[str]] = {}
    positional: list[str] = []
    rest = iter(argv)
    for arg in rest:
        if arg == "--":
            positional += list(rest)
        elif arg.startswith("-"):
            name, eq, inline = arg.partition("=")
            if name in valued:
                flags.setdefault(name, []).append(inline if eq else next(rest))
            elif name in booleans or name in GLOBAL:
                flags.setdefault(name, []).append("true")
            else:
                raise Usage(f"unknown flag: {name}")
        elif arg not in command:
            positional.append(arg)
    return command, flags, positional


def _state(stack: str) -> Path:
    return Path(os.environ["FAKE_PULUMI_STATE"]) / f"{stack}.json"


def _load(stack: str) -> dict:
    path = _state(stack)
    if not path.exists():
        raise Usage(f"no stack named '{stack}' found")
    return json.loads(path.read_text())


def _set_all(config: dict, flags: dict[str, list[str]]) -> None:
    if "--json" in flags and ({"--plaintext", "--secret", "--path"} & set(flags)):
        raise Usage("the --json option cannot be used with the --plaintext, --secret or --path options")
    if "--path" in flags:
        raise Usage("this fake does not model --path")
    for kind in ("--plaintext", "--secret"):
        for pair in flags.get(kind, []):
            key, _, value = pair.partition("=")
            config[key] = {"value": value, "object": False, "secure": kind == "--secret"}
    for key, entry in json.loads(flags.get("--json", ["{}"])[0]).items():
        if entry.get("value") is None:
            raise Usage(f"value for --json object key {key!r} is nil")
        config[key] = {"value": entry["value"], "object": entry.get("objectValue") is not None,
                       "secure": bool(entry.get("secret"))}


def _outputs(stack: str, show_secrets: bool) -> str:
    """``stack output --json``: secrets as ``[secret]`` unless shown (outputs from ``<stack>.outputs.json``)."""
    path = _state(stack).with_suffix(".outputs.json")
    stored = json.loads(path.read_text()) if path.exists() else {}
    return json.dumps({k: v["value"] if show_secrets or not v["secret"] else "[secret]" for k, v in stored.items()})


def run(argv: list[str]) -> str:
    command, flags, positional = parse(argv)
    stack = (flags.get("--stack") or flags.get("-s") or positional[-1:] or [""])[0]
    if command == ("version",):
        return "v3.272.0"
    if command == ("stack", "init"):
        _state(stack).write_text(json.dumps({}))
        return ""
    if command == ("stack", "select"):
        _load(stack)
        return ""
    config = _load(stack)
    if command == ("stack", "output"):
        return _outputs(stack, "--show-secrets" in flags)
    if command == ("config",):
        return json.dumps({k: {"value": v["value"], "secret": v["secure"],
                               **({"objectValue": json.loads(v["value"])} if v["object"] else {})}
                           for k, v in config.items()})
    if command == ("config", "set-all"):
        _set_all(config, flags)
    elif command == ("config", "rm-all"):
        for key in positional:
            config.pop(key, None)
    elif command == ("config", "set"):
        value = positional[1] if len(positional) > 1 else sys.stdin.read()
        config[positional[0]] = {"value": value, "object": False, "secure": "--secret" in flags}
    _state(stack).write_text(json.dumps(config))
    return ""


def main() -> int:
    argv = sys.argv[1:]
    with (Path(os.environ["FAKE_PULUMI_STATE"]) / "argv.jsonl").open("a") as log:
        log.write(json.dumps(argv) + "\n")
    with (Path(os.environ["FAKE_PULUMI_STATE"]) / "env.jsonl").open("a") as log:
        passphrase = sorted(n for n in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE") if n in os.environ)
        log.write(json.dumps({"backend": os.environ.get("PULUMI_BACKEND_URL"), "passphrase": passphrase}) + "\n")
    try:
        out = run(argv)
    except Usage as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 255
    if out:
        sys.stdout.write(out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
