#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The shared libraries a program loads are paid at every start of it: berthctl starts for every command
(`run` included), berth-monitor once per container (bench/README.md has the costs). This checks that
neither links a library it was freed from again.

Usage: startup-libraries.py NAME PATH [NAME PATH...]   (prints TAP; exit status 0 when all pass)"""
import subprocess, sys

FORBIDDEN = {
    # berthctl-full (libexecdir) has these, for inspect, history, --json, cp and build.
    'berthctl': ['libjson-glib-1.0', 'libgio-2.0', 'libgobject-2.0', 'libarchive', 'libcrypto', 'libcurl',
                 'libseccomp', 'libisal'],
    # No GLib, no JSON library, no libseccomp: berthd compiles the seccomp program.
    'berth-monitor': ['libglib-2.0', 'libgobject-2.0', 'libgio-2.0', 'libjson-glib-1.0', 'libseccomp',
                      'libarchive', 'libcrypto', 'libcurl'],
}


def needed(path):
    out = subprocess.run(['readelf', '-d', path], stdout=subprocess.PIPE, check=True, text=True).stdout
    return [line.split('[', 1)[1].split(']', 1)[0] for line in out.splitlines() if '(NEEDED)' in line]


def main(args):
    n = failed = 0
    for name, path in zip(args[0::2], args[1::2]):
        libs = needed(path)
        for lib in FORBIDDEN[name]:
            n += 1
            linked = [l for l in libs if l.startswith(lib + '.so')]
            print('%s %d - %s does not load %s%s' % ('not ok' if linked else 'ok', n, name, lib,
                                                     ' (it needs %s)' % linked[0] if linked else ''))
            failed += bool(linked)
    print('1..%d' % n)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
