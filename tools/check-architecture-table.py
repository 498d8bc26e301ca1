#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""check-architecture-table.py ARCHITECTURE_MD DAEMON_SRC_DIR XML...

Fails when a method of the D-Bus interfaces is missing from docs/architecture.md's verb table (the one whose
header starts with "| berthctl verb"), or when a handler the table names (`name` after "file.c") is not
defined in that file under DAEMON_SRC_DIR. Manager methods appear as `Member`, the others as
`Interface.Member` (`Container.Stop`).
"""
import os
import re
import sys
import xml.etree.ElementTree as ET


def table_rows(md):
    rows, inside = [], False
    for line in md.splitlines():
        if line.startswith("| berthctl verb"):
            inside = True
            continue
        if inside:
            if not line.startswith("|"):
                break
            if not line.startswith("|---"):
                rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def main(argv):
    if len(argv) < 4:
        print(__doc__)
        return 2
    md = open(argv[1]).read()
    srcdir = argv[2]
    rows = table_rows(md)
    if not rows:
        print(f"{argv[1]}: no table whose header starts with '| berthctl verb'")
        return 1
    names = set()
    for row in rows:
        for cell in row[1:3]:
            names.update(re.findall(r"`([A-Za-z.]+)`", cell))
    bad = 0
    for path in argv[3:]:
        iface = ET.parse(path).getroot().find("interface")
        short = iface.get("name").rsplit(".", 1)[1]
        for method in iface.findall("method"):
            want = method.get("name") if short == "Manager" else f"{short}.{method.get('name')}"
            if want not in names:
                print(f"{os.path.basename(path)}: method {method.get('name')} is missing from the table as `{want}`")
                bad = 1
    for row in rows:
        for f, fn in re.findall(r"([a-z-]+\.c) `([a-z_]+)`", row[3]):
            try:
                text = open(os.path.join(srcdir, f)).read()
            except FileNotFoundError:
                print(f"table names {f}, which is not in {srcdir}")
                bad = 1
                continue
            if not re.search(rf"^(static )?(const )?[a-z].*\b{fn}\(", text, re.M):
                print(f"table names {fn} in {f}, which does not define it")
                bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv))
