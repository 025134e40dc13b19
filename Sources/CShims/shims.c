#define _GNU_SOURCE  // pipe2
// Most shims are static inline in include/; SwiftPM needs one source file per C target, and the signal forwarding
// below needs real (not inline) code: a handler and the descriptor it writes to.
#include "CShims.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

// The write end of the signal pipe. The handler does nothing but write() the signal number there, which is
// async-signal-safe; a thread reads the other end.
static volatile int cshim_signal_write_fd = -1;

static void cshim_forward_signal(int signo) {
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    ssize_t written = write(cshim_signal_write_fd, &byte, 1);
    (void)written;  // a full pipe drops the signal: the reader is behind, it has one already
    errno = saved;
}

int cshim_signal_pipe_open(void) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    // Never block in the handler; the reader blocks on its end.
    if (fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    cshim_signal_write_fd = fds[1];
    return fds[0];
}

int cshim_signal_forward(int signo) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = cshim_forward_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(signo, &action, NULL);
}
