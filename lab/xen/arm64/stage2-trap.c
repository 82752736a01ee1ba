/*
 * Stage-2 (p2m) write traps on a Xen domain through Xen's own monitor interface, for the ARM64 Xen
 * lab: marks guest frames read/execute-only with xc_set_mem_access, listens on the vm_event ring and
 * prints each write with the writer's pc, then gives the frame its access back and resumes the vCPU.
 * Leaves the domain as found (every frame rwx, monitor ring disabled) on exit, also after SIGINT/TERM.
 *
 * Usage: stage2-trap DOMID SECONDS GFN...   (GFNs in hex: a guest-physical address >> 12)
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xen/vm_event.h>
#include <xen/hvm/params.h>

#define MAX_FRAMES 64

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s DOMID SECONDS GFN...\n", argv[0]);
        return 2;
    }
    uint32_t domid = strtoul(argv[1], NULL, 0);
    double seconds = strtod(argv[2], NULL);
    int frames = argc - 3 > MAX_FRAMES ? MAX_FRAMES : argc - 3;
    uint64_t gfn[MAX_FRAMES];
    int armed[MAX_FRAMES];
    for (int i = 0; i < frames; i++) {
        gfn[i] = strtoull(argv[3 + i], NULL, 16);
        armed[i] = 0;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
    if (!xch || !xce) {
        fprintf(stderr, "cannot open xenctrl/evtchn: %s\n", strerror(errno));
        return 1;
    }
    xc_domain_pause(xch, domid);
#ifdef __aarch64__
    /*
     * A dom0less domU was built by Xen, not by a toolstack: nobody chose the frame of its monitor
     * ring (HVM_PARAM_MONITOR_RING_PFN is 0), and xc_monitor_enable then fails to populate frame 0
     * (EBUSY). Choose one in the guest's magic region, as libxl's ARM domain builder does.
     */
    uint64_t ring_pfn = 0;
    if (xc_hvm_param_get(xch, domid, HVM_PARAM_MONITOR_RING_PFN, &ring_pfn) == 0 && ring_pfn == 0) {
        ring_pfn = (GUEST_MAGIC_BASE >> XC_PAGE_SHIFT) + 2;
        int rc = xc_hvm_param_set(xch, domid, HVM_PARAM_MONITOR_RING_PFN, ring_pfn);
        /* Its page limit is its RAM, exactly: room for the ring page while it is set up. */
        xc_dominfo_t info;
        if (xc_domain_getinfo(xch, domid, 1, &info) == 1 && info.domid == domid)
            rc |= xc_domain_setmaxmem(xch, domid, info.max_memkb + XC_PAGE_SIZE / 1024);
        printf("RING pfn=0x%" PRIx64 " set=%d\n", ring_pfn, rc);
    }
#endif
    uint32_t remote;
    void *page = xc_monitor_enable(xch, domid, &remote);
    if (!page) {
        fprintf(stderr, "xc_monitor_enable(%u): %s\n", domid, strerror(errno));
        xc_domain_unpause(xch, domid);
        return 1;
    }
    int local = xenevtchn_bind_interdomain(xce, domid, remote);
    if (local < 0) {
        fprintf(stderr, "xenevtchn_bind_interdomain: %s\n", strerror(errno));
        xc_monitor_disable(xch, domid);
        xc_domain_unpause(xch, domid);
        return 1;
    }
    vm_event_sring_t *sring = page;
    vm_event_back_ring_t back;
    SHARED_RING_INIT(sring);
    BACK_RING_INIT(&back, sring, XC_PAGE_SIZE);

    int status = 0;
    for (int i = 0; i < frames; i++) {
        int rc = xc_set_mem_access(xch, domid, XENMEM_access_rx, gfn[i], 1);
        printf("ARM gfn=0x%" PRIx64 " rc=%d%s%s\n", gfn[i], rc, rc ? " " : "", rc ? strerror(errno) : "");
        if (rc) status = 1;
        else armed[i] = 1;
    }
    fflush(stdout);
    xc_domain_unpause(xch, domid);

    unsigned long traps = 0;
    double deadline = now() + seconds;
    int fd = xenevtchn_fd(xce);
    while (!stopping && now() < deadline) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, 100) <= 0) continue;
        xenevtchn_port_or_error_t port = xenevtchn_pending(xce);
        if (port < 0) continue;
        xenevtchn_unmask(xce, port);
        while (RING_HAS_UNCONSUMED_REQUESTS(&back)) {
            vm_event_request_t req;
            memcpy(&req, RING_GET_REQUEST(&back, back.req_cons), sizeof(req));
            back.req_cons++;
            back.sring->req_event = back.req_cons + 1;
            if (req.reason == VM_EVENT_REASON_MEM_ACCESS) {
                traps++;
                printf("TRAP gfn=0x%" PRIx64 " offset=0x%" PRIx64 " gla=0x%" PRIx64 " pc=0x%" PRIx64
                       " access=%s%s%s vcpu=%u\n",
                       (uint64_t)req.u.mem_access.gfn, (uint64_t)req.u.mem_access.offset,
                       (uint64_t)req.u.mem_access.gla, (uint64_t)req.data.regs.arm.pc,
                       req.u.mem_access.flags & MEM_ACCESS_R ? "r" : "",
                       req.u.mem_access.flags & MEM_ACCESS_W ? "w" : "",
                       req.u.mem_access.flags & MEM_ACCESS_X ? "x" : "", req.vcpu_id);
                fflush(stdout);
                /* Give the frame its access back so the write completes when the vCPU resumes. */
                xc_set_mem_access(xch, domid, XENMEM_access_rwx, req.u.mem_access.gfn, 1);
                for (int i = 0; i < frames; i++)
                    if (gfn[i] == req.u.mem_access.gfn) armed[i] = 0;
            }
            vm_event_response_t rsp;
            memset(&rsp, 0, sizeof(rsp));
            rsp.version = VM_EVENT_INTERFACE_VERSION;
            rsp.vcpu_id = req.vcpu_id;
            rsp.flags = req.flags & VM_EVENT_FLAG_VCPU_PAUSED;
            rsp.reason = req.reason;
            memcpy(RING_GET_RESPONSE(&back, back.rsp_prod_pvt), &rsp, sizeof(rsp));
            back.rsp_prod_pvt++;
            RING_PUSH_RESPONSES(&back);
        }
        xenevtchn_notify(xce, local);
    }

    xc_domain_pause(xch, domid);
    for (int i = 0; i < frames; i++)
        if (armed[i]) xc_set_mem_access(xch, domid, XENMEM_access_rwx, gfn[i], 1);
    xenevtchn_unbind(xce, local);
    xc_monitor_disable(xch, domid);
    xc_domain_unpause(xch, domid);
    munmap(page, XC_PAGE_SIZE);
    xenevtchn_close(xce);
    xc_interface_close(xch);
    printf("DONE traps=%lu\n", traps);
    return status;
}
