#!/usr/bin/python3
"""Checks the house size limits in lib/, collector/ and cli/:

  - no source file (.cc, .h) over 500 lines;
  - no function (body and signature) over 100 lines;
  - no `main` over 100 lines (the same rule, named for the binaries).

Functions are found by a brace-matching heuristic: comments, string and
character literals are blanked out, then every `{` whose enclosing braces
are all namespaces, classes, structs, unions, enums or `extern "C"` opens a
function when the text before it (back to the last `;`, `{` or `}`) holds a
parameter list and is not a type or namespace head or an initializer. A
lambda or local class counts as part of its enclosing function.

Prints one line per violation, "path:line: what (N lines, limit M)", and
exits 1 if there is any. Usage: check-limits.py [repository root]
"""

import os
import re
import sys

FILE_LIMIT = 500
FUNCTION_LIMIT = 100
ROOTS = ("lib", "collector", "cli")
EXTENSIONS = (".cc", ".h")


SCOPE_HEAD = re.compile(
    r'(^|[\s;{}])(namespace|class|struct|union|enum)\b[^()]*$|'
    r'extern\s+"C"\s*$')


def blank(text):
    """Returns text with comments and literals replaced by spaces (newlines
    kept, so line numbers hold)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i) and (
                i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(\s]{0,16})\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum() and \
                    i + 1 < n and text[i + 1].isalnum():
                out.append(" ")  # a digit separator: 1'000
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


FUNCTION_TAILS = {"const", "override", "noexcept", "final", "try",
                  "mutable"}


def functions(code):
    """Yields (name, first line, last line) of each function in `code`
    (blanked text)."""
    stack = []  # for each open brace: "type", "init" or "other"
    head_start = 0  # offset just past the last ';', '{' or '}'
    open_fn = None  # (name, start line, depth) of the function we are in
    line = 1
    for i, c in enumerate(code):
        if c == "\n":
            line += 1
        elif c == ";":
            if open_fn is None:
                head_start = i + 1
        elif c == "{":
            at_scope = open_fn is None and all(k == "type" for k in stack)
            if not at_scope:
                stack.append("other")
                continue
            head = code[head_start:i]
            stripped = head.strip()
            if not stripped or SCOPE_HEAD.search(stripped):
                stack.append("type")
                head_start = i + 1
                continue
            last = re.search(r"(\w+)$", stripped)
            tail = stripped[stripped.rfind(")") + 1:] if ")" in stripped else ""
            if "(" in stripped and last and last.group(1) not in FUNCTION_TAILS \
                    and "->" not in tail:
                # A brace initializer of a constructor's member: a_{1}.
                stack.append("init")
                continue
            if "(" in stripped and not re.search(r"=\s*$", stripped):
                lead = len(head) - len(head.lstrip())
                first = line - code[head_start + lead:i].count("\n")
                m = re.search(r"(operator\s*[^\s(]+|[~\w:]+)\s*\(", stripped)
                name = m.group(1) if m else stripped[:40]
                open_fn = (name, first, len(stack))
            stack.append("other")
        elif c == "}":
            kind = stack.pop() if stack else "other"
            if open_fn is not None and len(stack) == open_fn[2]:
                yield open_fn[0], open_fn[1], line
                open_fn = None
            if open_fn is None and kind != "init":
                head_start = i + 1


def check(root):
    problems = []
    for top in ROOTS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for f in sorted(filenames):
                if not f.endswith(EXTENSIONS):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                lines = text.count("\n") + (0 if text.endswith("\n") else 1)
                if lines > FILE_LIMIT:
                    problems.append(f"{rel}:1: file has {lines} lines "
                                    f"(limit {FILE_LIMIT})")
                for name, first, last in functions(blank(text)):
                    length = last - first + 1
                    if length > FUNCTION_LIMIT:
                        problems.append(
                            f"{rel}:{first}: function {name} has {length} "
                            f"lines (limit {FUNCTION_LIMIT})")
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..")
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"check-limits: {len(problems)} violation(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
