/* elfjit run: reporting traps in loaded code (traps.c). */
#ifndef EJ_TOOL_TRAPS_H
#define EJ_TOOL_TRAPS_H

/* Installs handlers for SIGILL, SIGSEGV, SIGBUS, SIGFPE and SIGTRAP, on an
 * alternate stack (so a stack overflow is reported too).  A signal raised
 * by code inside a loaded module prints one line on stderr,
 *     elfjit: trap: <trap name or signal> in FUNCTION+0xOFF (FILE:LINE)
 * and exits with 128 + the signal number; any other is left to the
 * default action (the process dies of it as it would have without
 * elfjit).  Returns 0, or -1 when the handlers cannot be installed. */
int ej_tool_install_trap_handlers(void);

#endif
