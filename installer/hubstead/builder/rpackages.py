"""R repositories served from Debian's R and its r-cran-* packages.

repo2docker's R buildpack installs R from Posit's packages and runs install.R against a
dated CRAN snapshot; neither is reachable from many hubs (nor from this project's CI).
Debian ships R and some 1,000 CRAN packages as r-cran-NAME, so an install.R that only
installs packages Debian has can be built from Debian: the packages become apt
packages of the build (the privileged apt step), and the environment gets R's Jupyter
kernel (IRkernel, from Debian too). Anything else in install.R (a package from GitHub,
arbitrary R code) would need CRAN and is refused, naming the line.

    names = parse_install_r(text)          # ("digest", "ggplot2")
    version, date = parse_r_runtime("r-4.2-2023-01-01")   # ("4.2", "2023-01-01")
    debs = debian_packages(names)          # ("r-base-core", "r-cran-irkernel", "r-cran-digest", ...)
"""

from __future__ import annotations

import re

from . import BuilderError

# The R runtime forms repo2docker reads: r-X.Y[.Z][-YYYY-MM-DD] or r-YYYY-MM-DD.
R_RUNTIME = re.compile(r"^r-(?:(\d+\.\d+)(?:\.\d+)?)?-?(\d{4}-\d{2}-\d{2})?$")
CALL = re.compile(r"^install\.packages\((.*)\)\s*;?$", re.S)
STRING = re.compile(r"""^\s*(["'])([A-Za-z][A-Za-z0-9.]*)\1\s*$""")
VECTOR = re.compile(r"^\s*c\((.*)\)\s*$", re.S)
# Arguments of install.packages that only say where or how to fetch: harmless to drop,
# since the packages come from Debian.
DROPPABLE = re.compile(r"^\s*(repos|dependencies|Ncpus|quiet|type|lib)\s*=")
BASE_PACKAGES = ("r-base-core", "r-cran-irkernel")
NEEDS_CRAN = "only install.packages() of packages Debian ships can be built here (CRAN is not used)"


def parse_r_runtime(text):
    """(X.Y or None, YYYY-MM-DD or None) of an R runtime.txt; BuilderError otherwise."""
    match = R_RUNTIME.match(text.strip())
    if not match or not any(match.groups()):
        raise BuilderError(f"runtime.txt: {text.strip()!r} is not an R runtime; write r-X.Y or r-YYYY-MM-DD")
    return match.groups()


def parse_install_r(text, shown="install.R"):
    """The package names install.R installs, in order, once each. Comments, blank lines
    and library() calls are skipped; any other statement is refused with its line."""
    names = []
    for number, statement in _statements(text):
        if re.match(r"^(library|require)\(\s*['\"]?[A-Za-z][A-Za-z0-9.]*['\"]?\s*\)\s*;?$", statement):
            continue
        call = CALL.match(statement)
        if not call:
            raise BuilderError(f"{shown} line {number}: {statement[:60]!r}: {NEEDS_CRAN}")
        arguments = _split(call.group(1))
        if not arguments or any(not DROPPABLE.match(argument) for argument in arguments[1:]):
            raise BuilderError(f"{shown} line {number}: {statement[:60]!r}: {NEEDS_CRAN}")
        first = re.sub(r"^\s*pkgs\s*=", "", arguments[0])
        vector = VECTOR.match(first)
        for item in _split(vector.group(1)) if vector else [first]:
            name = STRING.match(item)
            if not name:
                raise BuilderError(f"{shown} line {number}: {item.strip()[:40]!r} is not a package name in quotes")
            if name.group(2) not in names:
                names.append(name.group(2))
    return tuple(names)


def debian_packages(names):
    """R, its Jupyter kernel and r-cran-NAME for each package (Debian's names are lower case)."""
    return (*BASE_PACKAGES, *(f"r-cran-{name.lower()}" for name in names))


def _statements(text):
    """(first line number, statement) with comments removed; a statement continues while
    its parentheses are open."""
    current, start, depth = [], 0, 0
    for number, line in enumerate(text.splitlines(), start=1):
        code = _strip_comment(line).strip()
        if not code and depth == 0:
            continue
        if depth == 0:
            start = number
        current.append(code)
        depth += code.count("(") - code.count(")")
        if depth <= 0:
            yield start, " ".join(current)
            current, depth = [], 0
    if current:
        yield start, " ".join(current)


def _strip_comment(line):
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#":
            return line[:index]
    return line


def _split(arguments):
    """Split on top-level commas."""
    parts, depth, current = [], 0, ""
    for char in arguments:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    if current.strip():
        parts.append(current)
    return parts
