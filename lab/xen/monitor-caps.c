/* Prints the Xen monitor (vm_event) capabilities of a domain, as xc_monitor_get_capabilities reports
 * them, and whether mem_access can be set on one of its frames. Built by the lab in dom0's cache. */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <xenctrl.h>

static const char *names[] = {
    "write_ctrlreg", "mov_to_msr", "singlestep", "software_breakpoint", "guest_request",
    "debug_exception", "cpuid", "privileged_call", "interrupt", "desc_access",
    "emul_unimplemented", "inguest_pagefault", "vmexit",
};

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: %s DOMID\n", argv[0]); return 2; }
    uint32_t domid = (uint32_t)strtoul(argv[1], NULL, 10);
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    if (!xch) { perror("xc_interface_open"); return 1; }
    uint32_t caps = 0;
    int rc = xc_monitor_get_capabilities(xch, domid, &caps);
    if (rc) { printf("xc_monitor_get_capabilities: rc %d errno %d (%s)\n", rc, errno, strerror(errno)); return 1; }
    printf("capabilities 0x%x:", caps);
    for (unsigned i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (caps & (1u << i)) printf(" %s", names[i]);
    printf("\n");
    /* mem_access needs the domain's vm_event ring; xc_set_mem_access alone shows the sanity check. */
    rc = xc_set_mem_access(xch, domid, XENMEM_access_rw, 0x1000, 1);
    printf("xc_set_mem_access(rw, gfn 0x1000): rc %d errno %d (%s)\n", rc, rc ? errno : 0, rc ? strerror(errno) : "ok");
    if (rc == 0) xc_set_mem_access(xch, domid, XENMEM_access_rwx, 0x1000, 1);
    xc_interface_close(xch);
    return 0;
}
