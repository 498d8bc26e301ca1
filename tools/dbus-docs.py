#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generate, check or refresh the D-Bus API reference in docs/api/ from dbus/*.xml.

  dbus-docs.py check XML...          fail on any interface, method, argument, property or signal without a
                                     doc comment (gdbus-codegen's gtk-doc style comments)
  dbus-docs.py fresh OUTDIR XML...   regenerate into a temp dir and diff against OUTDIR (docs/api)
  dbus-docs.py update OUTDIR XML...  regenerate into OUTDIR

The reference is produced by `gdbus-codegen --generate-rst`, a documentation generator only: berth
generates no C code from the XML; a test compares the live introspection with these files instead.
"""
import difflib
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET


def comments_before(xml_text):
    """Map 'interface', 'interface.Member' and 'interface.Member.arg' to True when a doc comment names them."""
    documented = set()
    for c in re.findall(r"<!--(.*?)-->", xml_text, re.S):
        lines = [l.strip() for l in c.strip().splitlines()]
        if not lines:
            continue
        head = lines[0]
        m = re.match(r"^([A-Za-z0-9_.]+):\s*(.*)$", head)
        if not m:
            continue
        documented.add(m.group(1))
        for l in lines[1:]:
            a = re.match(r"^@([A-Za-z0-9_]+):", l)
            if a:
                documented.add(m.group(1) + "@" + a.group(1))
    return documented


def check(paths):
    missing = []
    for p in paths:
        text = open(p).read()
        doc = comments_before(text)
        for iface in ET.fromstring(text).findall("interface"):
            name = iface.get("name")
            if name not in doc:
                missing.append(f"{p}: interface {name}")
            for kind in ("method", "signal", "property"):
                for m in iface.findall(kind):
                    mn = m.get("name")
                    if mn not in doc:
                        missing.append(f"{p}: {kind} {name}.{mn}")
                    for a in m.findall("arg"):
                        if f"{mn}@{a.get('name')}" not in doc:
                            missing.append(f"{p}: argument {a.get('name')} of {name}.{mn}")
    for m in missing:
        print("undocumented:", m)
    return 1 if missing else 0


def generate(outdir, paths):
    for p in paths:
        subprocess.run(["gdbus-codegen", "--generate-rst", os.path.join(outdir, "doc"), p], check=True)


def main(argv):
    cmd = argv[1]
    if cmd == "check":
        return check(argv[2:])
    outdir, paths = argv[2], argv[3:]
    if cmd == "update":
        generate(outdir, paths)
        return 0
    if cmd == "fresh":
        with tempfile.TemporaryDirectory() as tmp:
            generate(tmp, paths)
            bad = 0
            for f in sorted(os.listdir(tmp)):
                new = open(os.path.join(tmp, f)).read().splitlines(keepends=True)
                try:
                    old = open(os.path.join(outdir, f)).read().splitlines(keepends=True)
                except FileNotFoundError:
                    old = []
                if new != old:
                    bad = 1
                    sys.stdout.writelines(difflib.unified_diff(old, new, f"docs/api/{f}", f"generated/{f}"))
            if bad:
                print("docs/api is stale: run tools/dbus-docs.py update docs/api dbus/*.xml")
            return bad
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
