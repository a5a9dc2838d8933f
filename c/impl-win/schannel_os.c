/*
 * schannel_os.c — the Windows version and whether Wine stands in for it
 * (schannel_os.h). RtlGetVersion, unlike GetVersionEx, is not subject to the
 * application manifest's compatibility shims.
 */
#include "schannel_os.h"

#include <string.h>

typedef LONG(WINAPI *rtl_get_version_fn)(OSVERSIONINFOW *);

void sch_os_probe(struct sch_os *os)
{
    memset(os, 0, sizeof *os);
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    if (!ntdll)
        return;
    OSVERSIONINFOW v;
    memset(&v, 0, sizeof v);
    v.dwOSVersionInfoSize = sizeof v;
    rtl_get_version_fn get = (rtl_get_version_fn)(void (*)(void))GetProcAddress(ntdll, "RtlGetVersion");
    if (get && get(&v) == 0) {
        os->major = v.dwMajorVersion;
        os->minor = v.dwMinorVersion;
        os->build = v.dwBuildNumber;
    }
    os->wine = GetProcAddress(ntdll, "wine_get_version") != NULL;
}
