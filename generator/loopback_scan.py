"""The text scan behind the loopback check (loopback.py): where Rust sources and config files set a listen
address to 127.0.0.1, localhost or [::1].

This is a cheap text scan, not a Rust parser: a loopback address counts only in a bind/listen context,
and items under a test attribute are left out. It is loaded only when a scan runs: a warm run takes
the findings from the user cache (loopback.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IN_STRING = re.compile(r"127\.0\.0\.1|\blocalhost\b|\[::1\]|(?<![\w:])::1(?![\w:])")
_IN_CODE = (
    (
        re.compile(r"\[\s*127\s*,\s*0\s*,\s*0\s*,\s*1\s*\]|Ipv4Addr::new\(\s*127\s*,\s*0\s*,\s*0\s*,\s*1\s*\)|\bIpv4Addr::LOCALHOST\b"),
        "127.0.0.1",
    ),
    (re.compile(r"\bIpv6Addr::LOCALHOST\b"), "[::1]"),
)
# Words of a listening statement; `serve` but not `server` (a client's server address is not a bind).
_BIND = re.compile(r"(?i:bind|listen)|\bserve(?:_\w+)?\b|\b(?:TcpListener|UdpSocket|HttpServer|Server)\b")
_BIND_WORDS = ("bind", "listen", "serve", "udpsocket")  # one is in every match of _BIND, lowercased
# `#[cfg(test)]`, `#[cfg(all(test, ...))]`, `#[test]`, `#[tokio::test]`; not `#[cfg(not(test))]`.
_TEST_ATTRIBUTE = re.compile(r"#\[\s*(?:cfg\s*\(\s*(?:all\s*\(\s*)?test\b[^\]]*|(?:\w+::)*test(?:\s*\([^\]]*\))?\s*)\]")
_BINDING = re.compile(r"\b(let|const|static)\s+(?:mut\s+)?([A-Za-z_]\w*)")
_FIELD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?([A-Za-z_]\w*)\s*:")
_ADDRESS_NAME = re.compile(r"(?i)addr|host|^ip$")
_CONTINUES = ("(", ",", "=", "[")
_RAW_START = re.compile(r'r(#*)"')
_STRING_BODY = re.compile(r'(?:[^"\\]|\\.)*', re.S)  # up to the closing quote
_TOKEN = re.compile(r"""//|/\*|"|r#*"|'""")  # where a comment, a string or a char literal may start
_WORDISH = re.compile(r"^[A-Za-z_][\w.-]*$")
_CONFIG_KEY = re.compile(r"""^\s*(?:-\s+)?["']?([A-Za-z0-9_.\-]+)["']?\s*[:=]\s*(.*)$""")
_CLIENT_WORDS = re.compile(r"(?i)db|database|postgres|mysql|redis|sql|mongo|cache|smtp|mail|client|upstream|proxy|backend|"
                           r"remote|peer|target|sentry|otel|otlp|jaeger|telemetry|metrics|broker|kafka|amqp|nats|s3")


@dataclass(frozen=True)
class Finding:
    """A loopback address the binary would listen on, and where it was found."""

    line: int
    address: str
    key: str | None = None  # the config key that sets it (config files)


# --- Rust sources ----------------------------------------------------------------------------------


def scan_rust_files(texts: list[str]) -> list[list[Finding]]:
    """Findings per file, in order; a `const`/`static` may be bound to a listener in another file of the crate."""
    lexed = [_lex(text) for text in texts]
    uses = [line for code, _ in lexed for line in code if _binds(line)]
    return [_findings(code, strings, uses) for code, strings in lexed]


def _binds(line: str) -> bool:
    """_BIND finds something in the line. Most lines are ruled out first by the words every match holds
    (an ASCII line's: the pattern's case-insensitive letters match a few other Unicode ones)."""
    lowered = line.lower()
    return (not line.isascii() or any(word in lowered for word in _BIND_WORDS)) and _BIND.search(line) is not None


def scan_rust(text: str) -> list[Finding]:
    return scan_rust_files([text])[0]


def _findings(code: list[str], strings: list[tuple[int, int, str]], bind_lines: list[str]) -> list[Finding]:
    found: dict[int, Finding] = {}
    candidates = [(start + content[: m.start()].count("\n"), start, _canonical(m.group()))
                  for start, _end, content in strings for m in _IN_STRING.finditer(content)]
    candidates += [
        (n, n, address)
        for n, line in enumerate(code)
        if "127" in line or "LOCALHOST" in line  # in every match of _IN_CODE
        for pattern, address in _IN_CODE
        if pattern.search(line)
    ]
    tests = _test_lines(code)
    for line, anchor, address in candidates:
        if line not in found and anchor not in tests and _listens(code, anchor, bind_lines):
            found[line] = Finding(line + 1, address)
    return sorted(found.values(), key=lambda f: f.line)


def _test_lines(code: list[str]) -> set[int]:
    """The lines of the items under `#[cfg(test)]` or a test attribute: unit tests, not the binary."""
    lines: set[int] = set()
    for start, text in enumerate(code):
        attribute = _TEST_ATTRIBUTE.search(text)
        if attribute is None:
            continue
        depth, n, column = 0, start, attribute.end()
        while n < len(code):
            for char in code[n][column:]:
                if char == ";" and depth == 0:
                    break
                if char == "{":
                    depth += 1
                elif char == "}":
                    depth -= 1
                    if depth == 0:
                        break
            else:
                n, column = n + 1, 0
                continue
            break
        lines.update(range(start, min(n, len(code) - 1) + 1))
    return lines


def _listens(code: list[str], anchor: int, bind_lines: list[str]) -> bool:
    first = anchor
    while first > 0 and anchor - first < 3 and code[first - 1].rstrip().endswith(_CONTINUES):
        first -= 1
    context = " ".join(code[first : anchor + 1])
    if _BIND.search(context):
        return True
    bound = _BINDING.search(context)
    if bound:
        name = re.compile(rf"\b{re.escape(bound.group(2))}\b")
        later = code[anchor + 1 : anchor + 60] if bound.group(1) == "let" else bind_lines  # a const may be used anywhere
        return any(name.search(line) and _BIND.search(line) for line in later)
    if "default_value" in context:  # a clap default, for a field named as a listen address
        field = next((m.group(1) for line in code[anchor + 1 : anchor + 4] if (m := _FIELD.match(line))), "")
        # `host`/`addr` also name where a client connects to: they count in a file that listens somewhere
        return bool(re.search("(?i)bind|listen", field) or (_ADDRESS_NAME.search(field) and any(map(_BIND.search, code))))
    return False


def _raw_string_at(text: str, i: int) -> bool:
    """`r"`, `r#"` (or `br"`) starting a raw string at i, not the end of an identifier such as `for"`."""
    if not _RAW_START.match(text, i):
        return False
    before = text[max(0, i - 2) : i]
    if before.endswith("b"):
        before = before[:-1]
    return not before or not (before[-1].isalnum() or before[-1] == "_")


def _canonical(text: str) -> str:
    return "[::1]" if "::1" in text else text


def _lex(text: str) -> tuple[list[str], list[tuple[int, int, str]]]:
    """Code lines with comments removed and each string literal as `"S"` (or its text when it is one word,
    such as an environment variable's name), and the literals as (first line, last line, content)."""
    out: list[str] = []
    strings: list[tuple[int, int, str]] = []
    i, n, line = 0, len(text), 0
    while i < n:
        token = _TOKEN.search(text, i)
        start = token.start() if token else n
        out.append(text[i:start])  # plain code, copied as it is
        line += text.count("\n", i, start)
        i = start
        if token is None:
            break
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = end if end != -1 else n
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("\n" * text.count("\n", i, j))
            line += text.count("\n", i, j)
            i = j
        elif text[i] == '"' or _raw_string_at(text, i):
            raw, hashes = text[i] == "r", 0
            if raw:
                opening = _RAW_START.match(text, i)
                assert opening is not None  # _raw_string_at matched here
                hashes = len(opening.group(1))
                i += 1 + hashes
            end_mark = '"' + "#" * hashes
            if raw:
                j = text.find(end_mark, i + 1)
            else:
                body = _STRING_BODY.match(text, i + 1)
                assert body is not None  # the pattern matches the empty string too
                j = body.end()
            j = j if 0 <= j < n else n
            content = text[i + 1 : j]
            strings.append((line, line + content.count("\n"), content))
            out.append(f'"{content}"' if _WORDISH.match(content) else '"S"' + "\n" * content.count("\n"))
            line += content.count("\n")
            i = j + len(end_mark)
        elif text[i] == "'" and i + 2 < n and (text[i + 1] == "\\" or text[i + 2] == "'"):
            j = text.find("'", i + 3) if text[i + 1] == "\\" else i + 2
            j = j if j != -1 else n
            out.append("'c'")
            i = j + 1
        else:  # an `r` that starts no raw string, or a lifetime's `'`
            out.append(text[i])
            i += 1
    return "".join(out).split("\n"), strings


# --- config files ----------------------------------------------------------------------------------


def scan_config(text: str) -> list[Finding]:
    """`key = value` / `key: value` / `"key": value` / `KEY=value` lines that set a listen address to loopback."""
    found = []
    parents: list[tuple[int, str]] = []  # (indent, key) of the enclosing YAML/JSON mappings
    section = ""
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith(("#", "//", ";")):
            continue
        if re.match(r"^\[\[?[^\]=]+\]\]?$", stripped):  # a TOML table
            section = stripped.strip("[]")
            continue
        indent = len(raw) - len(raw.lstrip())
        while parents and parents[-1][0] >= indent:
            parents.pop()
        match = _CONFIG_KEY.match(raw)
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        if value in ("", "{", "|", ">"):
            parents.append((indent, key))
            continue
        address = _IN_STRING.search(value)
        if address and _listen_key(key, [section, *(k for _, k in parents)], value):
            found.append(Finding(number, _canonical(address.group()), key))
    return found


def _listen_key(key: str, context: list[str], value: str) -> bool:
    lowered = key.lower()
    if re.search("bind|listen", lowered):
        return True
    words = re.split(r"[._\-]", lowered)
    if words[-1] not in ("host", "addr", "address", "ip", "interface") or "://" in value:
        return False
    return not _CLIENT_WORDS.search(" ".join([*context, *words[:-1]]))
