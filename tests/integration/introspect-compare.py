#!/usr/bin/env python3
"""Compare a live D-Bus introspection with the API contract (dbus/*.xml), after normalisation.

  introspect-compare.py CONTRACT.xml LIVE.xml [INTERFACE...]

Both are reduced to one line per member: comments, doc annotations, whitespace, child nodes and the
org.freedesktop.DBus.* interfaces are dropped; members are sorted; an EmitsChangedSignal of "true" (the default)
is dropped; method args default to direction "in", signal args carry none. Only the given interfaces are compared
(default: every interface the contract defines). Prints a unified diff and exits 1 on a mismatch.
"""
import difflib
import sys
import xml.etree.ElementTree as ET

DOC_ANNOTATIONS = ("org.gtk.GDBus.DocString", "org.gtk.GDBus.DocString.Short", "org.gtk.GDBus.Since")


def annotations(elem, indent):
    out = []
    for a in elem.findall("annotation"):
        name, value = a.get("name"), a.get("value")
        if name in DOC_ANNOTATIONS:
            continue
        if name == "org.freedesktop.DBus.Property.EmitsChangedSignal" and value == "true":
            continue
        out.append(f"{indent}@{name}={value}")
    return sorted(out)


def args(elem, kind):
    out = []
    for a in elem.findall("arg"):
        name = a.get("name") or "_"
        if kind == "method":
            out.append(f"{a.get('direction') or 'in'} {a.get('type')} {name}")
        else:
            out.append(f"{a.get('type')} {name}")
    return ", ".join(out)


def normalise(path, wanted=None):
    root = ET.parse(path).getroot()
    ifaces = {}
    for iface in root.findall("interface"):
        name = iface.get("name")
        if name.startswith("org.freedesktop.DBus.") or (wanted and name not in wanted):
            continue
        members = []
        for m in iface.findall("method"):
            members.append([f"  method {m.get('name')}({args(m, 'method')})"] + annotations(m, "    "))
        for s in iface.findall("signal"):
            members.append([f"  signal {s.get('name')}({args(s, 'signal')})"] + annotations(s, "    "))
        for p in iface.findall("property"):
            members.append([f"  property {p.get('name')} {p.get('type')} {p.get('access')}"] + annotations(p, "    "))
        members.sort(key=lambda lines: lines[0])
        ifaces[name] = [f"interface {name}"] + annotations(iface, "  ") + [l for m in members for l in m]
    return ifaces


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    contract_path, live_path, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
    contract = normalise(contract_path, wanted or None)
    if not contract:
        sys.exit(f"{contract_path}: no interface {' '.join(wanted)}")
    live = normalise(live_path, list(contract))
    a = [l for n in sorted(contract) for l in contract[n]]
    b = [l for n in sorted(contract) for l in live.get(n, [f"(interface {n} missing)"])]
    if a == b:
        print(f"introspection matches {contract_path} ({', '.join(sorted(contract))}: {len(a)} lines)")
        return 0
    sys.stdout.writelines(difflib.unified_diff([l + "\n" for l in a], [l + "\n" for l in b],
                                               fromfile=contract_path, tofile="live"))
    return 1


if __name__ == "__main__":
    sys.exit(main())
