/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The attach socket berth-monitor serves at spec->attach_socket (AF_UNIX, SOCK_STREAM, mode 0600, so only
 * root, i.e. berthd, connects; clients get their end from berthd's AttachContainer).
 *
 * A connection starts with one header line from the connector, at most ATTACH_HEADER_MAX bytes:
 *
 *   "ATTACH stdin=B stdout=B stderr=B stdin_once=B lossless=B rows=N cols=N\n"
 *        Then the connection is a stream. With a terminal: raw bytes both ways, the pty's output to every
 *        attached client that asked for stdout, and the bytes of any client that asked for stdin to the pty.
 *        Without a terminal, output is framed as Docker's attach stream, so that stdout and stderr stay
 *        apart: an 8-byte header { stream (1 stdout, 2 stderr), 0, 0, 0, big-endian uint32 length } and then
 *        length bytes; client bytes go to the container's stdin pipe (when the container is interactive).
 *        The client's EOF (shutdown(SHUT_WR)) ends only its own input, unless stdin_once=1: then, as for
 *        Docker's `run -i` (StdinOnce), it closes the container's stdin once what it sent was written.
 *        A client that lets 4 MiB of output wait is dropped, unless lossless=1: then, while 256 KiB or more
 *        wait for it, the container's output is not read (the container blocks in its writes) until it has
 *        taken half, and after the container's exit the monitor waits for it to take the rest as long as it
 *        takes some every 5 s (berthctl run's stream; berthd lets only the container's creator ask).
 *        rows/cols, when both non-zero, set the terminal size first (so `run -ti` starts at the right size).
 *        When the container exits, the monitor sends whatever output is left, then closes the connection.
 *        Nothing is replayed: output written while nobody was attached is in the journal.
 *   "RESIZE <rows> <cols> [<pid>]\n"
 *        Sets the terminal size (the container's foreground process gets SIGWINCH), or with a pid that of
 *        the exec session of that pid; the monitor answers "OK\n" or "ERR <reason>\n" and closes.
 *   "EXEC <length> <rows> <cols>\n" and then <length> bytes of a run spec in JSON (run-spec.h)
 *        Starts a process in the running container (runtime/exec-child.h): of the spec only argv, env,
 *        cwd, user, tty and interactive are read, everything else (confinement) is the container's own;
 *        rows/cols, when non-zero, are the terminal's first size. The monitor answers one line,
 *        "PID <pid>\n" (the process was cloned; its pid as the host sees it) or "ERR <reason>\n" (and
 *        closes). Then the connection is the session's stream: output always framed as above (stream 1
 *        stdout or the terminal, 2 stderr), and last a frame of stream ATTACH_FRAME_EXIT whose payload is
 *        the exit status in decimal (Docker's: the code, or 128+N after signal N; 126/127 and a message on
 *        stream 2 when the command cannot run), then the monitor closes. So the client learns the status
 *        from its own stream, whatever happened to berthd meanwhile. Client bytes go to the process's
 *        stdin (a pipe when interactive, else nothing) or terminal; the client's EOF closes the pipe. A
 *        client that goes away does not end the process (its output is then dropped). The container's
 *        end ends every session (their processes are in its pid namespace); the monitor exits when the
 *        last one has sent its status.
 *   "WAIT <pid>\n"
 *        berthd's watch on the exec session of that pid (org.berth1.ExecSession.ExitCode): the monitor
 *        answers "EXIT <status>\n" (the status as in the last frame above) once the process has ended, at
 *        once if it has (also for a while after its session is gone), or "ERR <reason>\n" when it knows no
 *        such session, and closes.
 *
 * Connections made before the container runs (AttachContainer with before_start) are not made on the
 * socket: berthd keeps its end of a socketpair, the header already written into it, and passes those ends
 * with SCM_RIGHTS on the "G" message of the sync socket (monitor-protocol.h), so that the monitor serves
 * them before the container can write anything. */

#define ATTACH_HEADER_MAX        256
#define ATTACH_FRAME_HEADER_SIZE 8
/* The stream number of an exec session's last frame, the exit status. */
#define ATTACH_FRAME_EXIT 3
/* Streams passed with "G" at most. */
#define ATTACH_PENDING_MAX 16
