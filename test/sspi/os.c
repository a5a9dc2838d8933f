/*
 * os.c — the stand-in's Windows: 11 (build 22631), not Wine, linked in place
 * of c/impl-win/schannel_os.c, so the engine takes its real-Windows paths
 * (TLS 1.3 offered, no Wine work-arounds) while the test runs under Wine.
 */
#include "../../c/impl-win/schannel_os.h"

#include <string.h>

void sch_os_probe(struct sch_os *os)
{
    memset(os, 0, sizeof *os);
    os->major = 10;
    os->build = 22631;
}
