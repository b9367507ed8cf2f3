#!/usr/bin/env python3
"""Package.swift declares exactly what each target imports: no dependency a target does not import, no import it
does not declare (an executable a test target runs, such as `tiaki` for the CLI tests, is the one exception).

    python3 Scripts/check-package.py        (exit 1 with one line per target that differs)
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Modules of the toolchain and the platform, never declared.
SYSTEM = {"Foundation", "FoundationNetworking", "FoundationEssentials", "Dispatch", "Glibc", "Musl", "Darwin",
          "Synchronization", "XCTest", "Testing", "_Concurrency"}
IMPORT = re.compile(r"^\s*(?:@\w+\s+)*(?:(?:public|package|internal|private|fileprivate)\s+)?import\s+"
                    r"(?:(?:struct|enum|class|func|protocol|typealias|var|let)\s+)?([A-Za-z_][A-Za-z_0-9]*)")


def targets(package):
    """name -> (kind, declared dependencies) for each target of Package.swift."""
    found = {}
    for match in re.finditer(r"\.(target|executableTarget|testTarget)\(\s*name:\s*\"([^\"]+)\"", package):
        kind, name = match.group(1), match.group(2)
        rest = package[match.end():]
        deps = re.match(r"\s*,\s*dependencies:\s*\[", rest)
        declared = set()
        if deps:
            depth, i = 1, deps.end()
            while depth:
                depth += {"[": 1, "]": -1}.get(rest[i], 0)
                i += 1
            body = rest[deps.end():i - 1]
            declared = set(re.findall(r"(?<![\w.(])\"([^\"]+)\"", body)) - set(re.findall(r"package:\s*\"([^\"]+)\"", body))
            declared |= set(re.findall(r"\.product\(name:\s*\"([^\"]+)\"", body))
        found[name] = (kind, declared)
    return found


def imports(directory):
    modules = set()
    for folder, _, files in os.walk(directory):
        for name in files:
            if name.endswith(".swift"):
                with open(os.path.join(folder, name), encoding="utf-8") as source:
                    for line in source:
                        match = IMPORT.match(line)
                        if match:
                            modules.add(match.group(1))
    return modules - SYSTEM


def main():
    with open(os.path.join(ROOT, "Package.swift"), encoding="utf-8") as file:
        all_targets = targets(file.read())
    executables = {name for name, (kind, _) in all_targets.items() if kind == "executableTarget"}
    problems = []
    for name, (kind, declared) in sorted(all_targets.items()):
        base = "Tests" if kind == "testTarget" else "Sources"
        used = imports(os.path.join(ROOT, base, name))
        unused = declared - used - (executables if kind == "testTarget" else set())
        undeclared = used - declared - {name}
        if unused:
            problems.append(f"{name} declares {', '.join(sorted(unused))} and does not import it")
        if undeclared:
            problems.append(f"{name} imports {', '.join(sorted(undeclared))} without declaring it")
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        return 1
    print(f"Package.swift: the dependencies of all {len(all_targets)} targets are the modules they import")
    return 0


if __name__ == "__main__":
    sys.exit(main())
