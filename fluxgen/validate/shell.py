"""Split a pasted shell command or script into simple commands the way a POSIX shell would: `\\` line
continuations, `#` comments, quotes, and `;`, `&&`, `||`, `|` between commands. Guides often put comments after
a continuation, which ends the command in a real shell; that is reported and the listing read as meant."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from fluxgen.validate.report import Finding

OPERATORS = {";", "&&", "||", "|", "&", ";;"}


@dataclass
class ShellCommand:
    tokens: list[str]
    line: int  # first physical line of the command


def split_script(text: str) -> tuple[list[ShellCommand], list[Finding]]:
    """Simple commands with their tokens, and findings about the text itself (broken continuations, quotes)."""
    logical, broken = _logical_lines(text)
    commands: list[ShellCommand] = []
    findings: list[Finding] = []
    if broken:
        shown = ", ".join(str(n) for n in broken[:8]) + (", ..." if len(broken) > 8 else "")
        findings.append(Finding("warning", f"line {broken[0]}", f"a comment inside a '\\' continued command ends "
                                f"the command in a shell (lines {shown}); the options after it are not passed",
                                "move the comments above the command", "shell-comment-continuation"))
    for number, line in logical:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = ""
        try:
            tokens = list(lexer)
        except ValueError as exc:
            findings.append(Finding("error", f"line {number}", f"cannot split the command: {exc}",
                                    "close the quote", "shell-syntax"))
            continue
        current: list[str] = []
        for token in tokens + [";"]:
            if token in OPERATORS:
                if current:
                    commands.append(ShellCommand(current, number))
                current = []
            else:
                current.append(token)
    return commands, findings


def _logical_lines(text: str) -> tuple[list[tuple[int, str]], list[int]]:
    """Join continued lines and drop comments; also return the lines where a comment broke a continuation."""
    out: list[tuple[int, str]] = []
    broken: list[int] = []
    parts: list[str] = []
    start: int | None = None
    quote: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if parts and quote is None and line.lstrip().startswith("#"):
            broken.append(number)
            continue
        cut, quote_after = _scan(line, quote)
        body = line if cut is None else line[:cut].rstrip()
        continued = quote_after is not None
        if _ends_with_continuation(body):
            continued = True
            body = body[:-1]
            if cut is not None:
                broken.append(number)
        elif quote_after is None and body.rstrip().endswith(" ^"):
            continued, body = True, body.rstrip()[:-1]
        parts.append(body)
        start = start if start is not None else number
        quote = quote_after
        if not continued:
            out.append((start, ("\n" if quote else " ").join(parts)))
            parts, start = [], None
    if parts:
        out.append((start or 1, " ".join(parts)))
    return out, broken


def _ends_with_continuation(body: str) -> bool:
    trailing = len(body) - len(body.rstrip("\\"))
    return trailing % 2 == 1


def _scan(line: str, quote: str | None) -> tuple[int | None, str | None]:
    """Index where a comment starts (outside quotes, at a word start), and the quote still open at line end."""
    i = 0
    while i < len(line):
        ch = line[i]
        if quote == "'":
            if ch == "'":
                quote = None
        elif ch == "\\":
            i += 1
        elif quote == '"':
            if ch == '"':
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t;&|("):
            return i, quote
        i += 1
    return None, quote
