#ifndef CSHIMS_SIGNAL_H
#define CSHIMS_SIGNAL_H
// Signal forwarding through a pipe (implemented in shims.c): see HTTPServerKit's SignalHandling.

// Opens the process's signal pipe and returns its read end (-1 with errno on failure). Call once.
int cshim_signal_pipe_open(void);
// Makes `signo` write its number to the signal pipe instead of its default action (sigaction, SA_RESTART).
int cshim_signal_forward(int signo);
#endif
