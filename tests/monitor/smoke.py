#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs berth-monitor for real, as root, outside systemd: a busybox image in an overlay, the sync-socket
protocol of monitor-protocol.h, state.json, and the journal entries (received on a private
/run/systemd/journal/socket: the harness runs in its own mount namespace with a tmpfs on /run, so journald
need not exist and the host's /run is never touched).

Usage: smoke.py PATH-TO-berth-monitor PATH-TO-seccomp-bpf   (prints TAP; exit status 0 when all pass)
Only processes this script started are ever signalled, by pid."""
import ctypes, json, os, select, shutil, signal, socket, struct, subprocess, sys, tempfile, threading, time

MONITOR = os.path.abspath(sys.argv[1])
# The seccomp program berthd would put into the run spec (default capabilities): berth-monitor compiles none.
SECCOMP_FILTER = subprocess.run([sys.argv[2]], stdout=subprocess.PIPE, check=True).stdout
BUSYBOX = shutil.which('busybox') or '/bin/busybox'
APPLETS = ['sh', 'ls', 'cat', 'echo', 'id', 'hostname', 'mount', 'sleep', 'tr', 'head', 'printf', 'pwd', 'tty',
           'touch', 'env', 'stat', 'true', 'wc']
ID = 'c0ffee' + '0' * 52 + '123456'
results = []


def ok(cond, what):
    results.append((bool(cond), what))
    print(('ok' if cond else 'not ok') + ' %d - %s' % (len(results), what), flush=True)
    return cond


def make_tree(top):
    diff = os.path.join(top, 'layers', 'x', 'diff')
    for d in ('bin', 'etc', 'tmp'):
        os.makedirs(os.path.join(diff, d))
    shutil.copy(BUSYBOX, os.path.join(diff, 'bin', 'busybox'))
    for a in APPLETS:
        os.symlink('busybox', os.path.join(diff, 'bin', a))
    with open(os.path.join(diff, 'etc', 'passwd'), 'w') as f:
        f.write('root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/sh\n'
                'nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n')
    with open(os.path.join(diff, 'etc', 'group'), 'w') as f:
        f.write('root:x:0:\nwheel:x:10:root,app\napp:x:1000:\nnogroup:x:65534:\n')
    with open(os.path.join(diff, 'etc', 'notexec'), 'w') as f:
        f.write('#!/bin/sh\necho no\n')
    os.makedirs(os.path.join(top, 'layers', 'l'))
    os.symlink('../x/diff', os.path.join(top, 'layers', 'l', 'AAAA'))
    for name, text in (('hostname', 'smokehost\n'), ('hosts', '127.0.0.1 localhost smokehost\n'),
                       ('resolv.conf', 'nameserver 127.0.0.53\n')):
        with open(os.path.join(top, name), 'w') as f:
            f.write(text)


class Journal:
    """A datagram socket speaking journald's native protocol, enough for sd_journal_sendv(). A thread takes
    each entry as it comes, as journald does: a datagram socket queues only net.unix.max_dgram_qlen entries
    (10 unless the host's systemd raised it), and a monitor whose entries are not taken blocks in sendmsg."""

    def __init__(self):
        os.makedirs('/run/systemd/journal', exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind('/run/systemd/journal/socket')
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.setblocking(False)
        self.lock = threading.Lock()
        self.entries = []
        threading.Thread(target=self._take, daemon=True).start()

    def _drain(self):  # with the lock held: each datagram is either still queued or in self.entries
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except BlockingIOError:
                return
            self.entries.append(self.parse(data))

    def _take(self):
        while True:
            select.select([self.sock], [], [])
            with self.lock:
                self._drain()

    def read_all(self):
        """The entries received since the last call, in order."""
        with self.lock:
            self._drain()
            entries, self.entries = self.entries, []
        return entries

    @staticmethod
    def parse(data):
        e, i = {}, 0
        while i < len(data):
            nl = data.index(b'\n', i)
            line = data[i:nl]
            if b'=' in line:
                k, v = line.split(b'=', 1)
                i = nl + 1
            else:  # binary-safe form: KEY\n<le64 size><value>\n
                k = line
                size = struct.unpack('<Q', data[nl + 1:nl + 9])[0]
                v = data[nl + 9:nl + 9 + size]
                i = nl + 9 + size + 1
            e[k.decode()] = v
        return e


def run_spec(spec):
    """The run spec's flat format (src/runtime/run-spec.h): a record per member, length-prefixed."""
    out = b'berth-run-spec 1\n'
    for name, v in spec.items():
        if isinstance(v, bool):
            t, v = b'b', b'1' if v else b'0'
        elif isinstance(v, bytes):
            t = b'x'
        elif isinstance(v, list):
            t, v = b'v', b''.join(x.encode() + b'\0' for x in v)
        else:
            t, v = b's', v.encode()
        out += b'%s %s %d\n' % (t, name.encode(), len(v)) + v + b'\n'
    return out + b'end\n'


class Container:
    n = 0

    def __init__(self, top, argv, **kw):
        Container.n += 1
        self.dir = os.path.join(top, 'c%d' % Container.n)
        for d in ('upper', 'work', 'rootfs'):
            os.makedirs(os.path.join(self.dir, d))
        self.spec = {
            'id': ID, 'name': 'smoke%d' % Container.n, 'image_name': 'busybox:smoke',
            'layers_dir': os.path.join(top, 'layers'), 'lowerdir': 'l/AAAA',
            'upperdir': os.path.join(self.dir, 'upper'), 'workdir': os.path.join(self.dir, 'work'),
            'rootfs': os.path.join(self.dir, 'rootfs'), 'argv': argv,
            'env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
            'cwd': '/', 'hostname': 'smokehost',
            'hostname_file': os.path.join(top, 'hostname'), 'hosts_file': os.path.join(top, 'hosts'),
            'resolv_conf_file': os.path.join(top, 'resolv.conf'),
            'state_file': os.path.join(self.dir, 'state.json'), 'no_new_privileges': True,
            'seccomp_filter': SECCOMP_FILTER,
        }
        self.spec.update(kw)
        with open(os.path.join(self.dir, 'run-spec'), 'wb') as f:
            f.write(run_spec(self.spec))
        with open(self.spec['state_file'], 'w') as f:
            json.dump({'status': 'created'}, f)
        self.pid = None

    def start(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fd = theirs.fileno()
        self.proc = subprocess.Popen([MONITOR, '--spec=' + os.path.join(self.dir, 'run-spec')],
                                     stdin=subprocess.DEVNULL, pass_fds=(3,), env={'SYSTEMD_LOG_LEVEL': 'debug'},
                                     preexec_fn=lambda: os.dup2(fd, 3))
        theirs.close()
        ours.send(b'G')
        ours.settimeout(10)
        self.reply = ours.recv(4096).decode()
        ours.close()
        if self.reply.startswith('S'):
            self.pid = int(self.reply[1:])
        return self.reply

    def wait(self, timeout=15):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = self.proc.wait(5)
            ok(False, '%s: monitor ended in time' % self.spec['name'])
        with open(self.spec['state_file']) as f:
            self.state = json.load(f)
        return rc

    def kill(self):
        # Only what we started: the container's init (a pid we were told) and our monitor.
        for pid in (self.pid, self.proc.pid):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def upper(self, path):
        return os.path.join(self.dir, 'upper', path.lstrip('/'))


def messages(entries, name, prio=None):
    return [e['MESSAGE'].decode(errors='replace') for e in entries
            if e.get('CONTAINER_NAME') == name.encode() and 'MESSAGE_ID' not in e
            and (prio is None or e.get('PRIORITY') == str(prio).encode())]


def run(top, journal, argv, **kw):
    c = Container(top, argv, **kw)
    c.start()
    rc = c.wait()
    c.entries = journal.read_all()
    c.out = messages(c.entries, c.spec['name'])
    ok(rc == 0, '%s: %s monitor exits 0 (got %s)' % (c.spec['name'], argv, rc))
    return c


def tests(top, journal):
    c = run(top, journal, ['sh', '-c', 'echo hello; echo oops >&2; exit 0'])
    ok(c.reply.startswith('S'), 'start reply S<pid>: %r' % c.reply)
    ok(c.state['status'] == 'exited' and c.state['exit_code'] == 0 and c.state['pid'] == 0, 'state exited 0')
    ok(c.state['started_usec'] > 0 and c.state['finished_usec'] >= c.state['started_usec'], 'timestamps')
    ok(messages(c.entries, c.spec['name'], 6) == ['hello'], 'stdout line at PRIORITY=6')
    ok(messages(c.entries, c.spec['name'], 3) == ['oops'], 'stderr line at PRIORITY=3')
    e = [x for x in c.entries if x.get('MESSAGE') == b'hello'][0]
    ok(e.get('CONTAINER_ID') == ID[:12].encode() and e.get('CONTAINER_ID_FULL') == ID.encode()
       and e.get('IMAGE_NAME') == b'busybox:smoke' and e.get('SYSLOG_IDENTIFIER') == c.spec['name'].encode()
       and e.get('CONTAINER_TAG') == c.spec['name'].encode() and 'CODE_FILE' not in e, 'journal fields: %r' % e)
    last = c.entries[-1] if c.entries else {}
    ok(last.get('MESSAGE_ID') == b'e892b303863a4f5f9cfa2c49aad7ec9b' and last.get('EXIT_CODE') == b'0'
       and last.get('EXIT_SIGNAL') == b'0'
       and last.get('MESSAGE') == ('Container %s exited with code 0' % c.spec['name']).encode(),
       'final exit entry last: %r' % last)

    c = run(top, journal, ['sh', '-c', 'exit 3'])
    ok(c.state['exit_code'] == 3 and c.state['exit_signal'] == 0, 'exit code 3')

    c = run(top, journal, ['nosuchcmd'])
    msg = 'exec: "nosuchcmd": executable file not found in $PATH'
    ok(c.reply == 'E127 ' + msg, 'missing command reply: %r' % c.reply)
    ok(c.state['exit_code'] == 127 and c.state['error'] == msg and c.state['status'] == 'exited', 'state 127')

    c = run(top, journal, ['/bin/nope'])
    ok(c.reply.startswith('E127 exec: "/bin/nope": stat /bin/nope: '), 'missing path: %r' % c.reply)
    c = run(top, journal, ['/etc/notexec'])
    ok(c.reply.startswith('E126 exec: "/etc/notexec": '), 'not executable: %r' % c.reply)
    c = run(top, journal, ['id'], user='nosuch')
    ok(c.reply == 'E125 unable to find user nosuch: no matching entries in passwd file', 'unknown user: %r' % c.reply)

    # kill -9 of the container's init
    c = Container(top, ['sleep', '100'])
    c.start()
    time.sleep(0.2)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        os.kill(c.proc.pid, sig)
    time.sleep(0.2)
    ok(c.proc.poll() is None, 'monitor survives SIGTERM/SIGINT/SIGHUP')
    os.kill(c.pid, signal.SIGKILL)
    c.wait()
    ok(c.state['exit_code'] == 137 and c.state['exit_signal'] == 9, 'kill -9 gives 137: %r' % c.state)
    journal.read_all()

    c = run(top, journal, ['sh', '-c', 'id; hostname; cat /proc/1/cmdline | tr "\\0" " "; echo; ls /dev; '
                           'cat /etc/hostname; ls /sys; cat /etc/resolv.conf; ls /dev/pts /dev/shm /dev/mqueue;'
                           'echo data > /written; cat /proc/self/mountinfo | wc -l'])
    out = c.out
    ok('uid=0(root) gid=0(root) groups=0(root),10(wheel)' in out, 'id as root: %r' % out[:1])
    ok(out.count('smokehost') >= 2, 'hostname and /etc/hostname')
    ok(any(l.startswith('sh -c id;') for l in out), '/proc/1/cmdline is our init')
    for node in ('null', 'zero', 'full', 'random', 'urandom', 'tty', 'fd', 'stdin', 'ptmx', 'pts', 'shm',
                 'mqueue'):
        ok(node in out, '/dev/%s exists' % node)
    ok('class' in out and 'fs' in out, 'ls /sys')
    ok('nameserver 127.0.0.53' in out, '/etc/resolv.conf bound')
    ok(os.path.exists(c.upper('written')), 'file written lands in the upper dir')
    ok(os.path.exists(c.upper('etc/hostname')), 'empty bind target created in the upper')

    c = run(top, journal, ['sh', '-c', 'id; echo $HOME; pwd'], user='1000', cwd='/work/dir')
    ok(c.out[:3] == ['uid=1000(app) gid=1000(app) groups=10(wheel),1000(app)', '/home/app', '/work/dir'], '-u 1000: %r' % c.out)
    ok(os.path.isdir(c.upper('work/dir')), 'missing cwd created')
    c = run(top, journal, ['id'], user='nobody')
    ok(c.out == ['uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)'], '-u nobody: %r' % c.out)
    c = run(top, journal, ['id'], user='4242:4343')
    ok(c.out == ['uid=4242 gid=4343 groups=4343'], '-u 4242:4343: %r' % c.out)

    c = run(top, journal, ['sh', '-c', 'tty; echo hi; ls -l /dev/console | wc -l'], tty=True)
    ok(c.out[:2] == ['/dev/pts/0', 'hi'], 'tty output, \\r stripped: %r' % c.out)

    c = run(top, journal, ['sh', '-c', 'printf abc; sleep 0.4; echo def; head -c 20000 /dev/zero | tr "\\0" a'])
    parts = [(e['MESSAGE'], e.get('CONTAINER_PARTIAL_MESSAGE')) for e in c.entries
             if e.get('CONTAINER_NAME') == c.spec['name'].encode() and 'MESSAGE_ID' not in e]
    ok(parts[:2] == [(b'abc', b'true'), (b'def', None)], 'partial line flushed after a delay: %r' % parts[:2])
    ok([(len(m), p) for m, p in parts[2:]] == [(16384, b'true'), (3616, b'true')], 'long line split at 16 KiB')

    c = run(top, journal, ['sh'], lowerdir='')
    ok(c.reply.startswith('E127'), 'image without layers mounts (and has no sh): %r' % c.reply)

    c = run(top, journal, ['ls', '/sys/class/net'], host_network=True)
    ok(c.state['exit_code'] == 0 and len(c.out) >= 1, 'host network: %r' % c.out)
    c = run(top, journal, ['ls', '/sys/class/net'])
    ok(c.out == ['lo'], 'own network namespace has only lo: %r' % c.out)

    # interactive without a terminal: stdin stays open while nobody writes
    c = Container(top, ['sh', '-c', 'read x; echo got $x'], interactive=True)
    c.start()
    time.sleep(0.3)
    ok(c.proc.poll() is None, 'interactive stdin stays open')
    os.kill(c.pid, signal.SIGKILL)
    c.wait()
    journal.read_all()


def main():
    if os.geteuid() != 0:
        print('1..0 # SKIP needs root')
        return 77
    # Our own mount namespace: /run becomes a tmpfs that only we (and the monitors we start) see.
    if ctypes.CDLL(None, use_errno=True).unshare(0x00020000) != 0:  # CLONE_NEWNS; os.unshare is 3.12+
        raise OSError(ctypes.get_errno(), 'unshare')
    subprocess.check_call(['mount', '--make-rprivate', '/'])
    subprocess.check_call(['mount', '-t', 'tmpfs', 'tmpfs', '/run'])
    top = tempfile.mkdtemp(prefix='berth-monitor-smoke-', dir='/var/tmp')
    try:
        make_tree(top)
        journal = Journal()
        tests(top, journal)
        for f in ('/proc/self/mountinfo', '/proc/1/mountinfo'):
            with open(f) as m:
                left = [l for l in m if top in l]
            ok(not left, 'nothing left mounted in %s: %r' % (f, left[:2]))
    finally:
        shutil.rmtree(top, ignore_errors=True)
    print('1..%d' % len(results))
    return 0 if all(r for r, _ in results) else 1


sys.exit(main())
