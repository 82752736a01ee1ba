/*
 * LibVMI's own Xen driver on ARM64 Xen, for the ARM64 Xen lab (run.sh --libvmi): opens the domU by
 * domid with vmi_init, reads its vCPU registers, its kernel's Image header (physical) and init_task
 * through the guest's own stage-1 tables, then — with a GFN given — traps writes to that frame through
 * LibVMI's events (a generic memory event + vmi_set_mem_event, as Ringside's backend does).
 *
 * Usage: libvmi-probe DOMID [SECONDS GFN VA [emulate]]   (GFN in hex; VA: a kernel address to
 *        translate). "emulate": answer each trap as Ringside's LibvmiDomain does (EMULATE, the frame
 *        kept write-protected) instead of lifting the restriction, and print the first pcs.
 */
#define _GNU_SOURCE /* memmem */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libvmi/libvmi.h>
#include <libvmi/events.h>
#include <xenctrl.h>
#include <xen/hvm/params.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long traps;
static uint64_t trapped_gfn;
static int emulate;

/* One write trap: print it, give the frame its access back (ARM Xen cannot emulate the write) and go on. */
static event_response_t on_write(vmi_instance_t vmi, vmi_event_t *event) {
    if (++traps > 8 && emulate) return VMI_EVENT_RESPONSE_EMULATE;
    printf("LIBVMI TRAP gfn=0x%" PRIx64 " offset=0x%" PRIx64 " gla=0x%" PRIx64 " pc=0x%" PRIx64
           " access=%s%s%s vcpu=%u\n",
           event->mem_event.gfn, event->mem_event.offset, event->mem_event.gla,
           event->arm_regs ? event->arm_regs->pc : 0,
           event->mem_event.out_access & VMI_MEMACCESS_R ? "r" : "",
           event->mem_event.out_access & VMI_MEMACCESS_W ? "w" : "",
           event->mem_event.out_access & VMI_MEMACCESS_X ? "x" : "", event->vcpu_id);
    fflush(stdout);
    if (emulate) return VMI_EVENT_RESPONSE_EMULATE;
    if (vmi_set_mem_event(vmi, event->mem_event.gfn, VMI_MEMACCESS_N, 0) != VMI_SUCCESS)
        printf("LIBVMI lift failed gfn=0x%" PRIx64 "\n", event->mem_event.gfn);
    else if (event->mem_event.gfn == trapped_gfn)
        trapped_gfn = 0;
    return VMI_EVENT_RESPONSE_NONE;
}

static void hex(const char *what, const uint8_t *b, size_t n) {
    printf("LIBVMI %s", what);
    for (size_t i = 0; i < n; i++) printf("%s%02x", i % 8 ? "" : " ", b[i]);
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s DOMID [SECONDS GFN VA [emulate]]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* every line out before a timeout can kill us */
    uint64_t domid = strtoull(argv[1], NULL, 0);
    int events = argc >= 5;
    emulate = argc == 6 && !strcmp(argv[5], "emulate");
    double seconds = events ? strtod(argv[2], NULL) : 0;
    uint64_t gfn = events ? strtoull(argv[3], NULL, 16) : 0;
    uint64_t va = events ? strtoull(argv[4], NULL, 16) : 0;

    if (events) {
        /*
         * A dom0less domU has no monitor-ring frame (HVM_PARAM_MONITOR_RING_PFN = 0), which LibVMI's
         * xc_monitor_enable then fails to populate: choose one in the magic region, as libxl does.
         * (LibVMI's own xc_domain_setmaxmem(~0) lifts the page limit the ring needs.)
         */
        xc_interface *xch = xc_interface_open(NULL, NULL, 0);
        uint64_t ring = 0;
        if (xch && xc_hvm_param_get(xch, domid, HVM_PARAM_MONITOR_RING_PFN, &ring) == 0 && ring == 0) {
            ring = (GUEST_MAGIC_BASE >> XC_PAGE_SHIFT) + 2;
            printf("LIBVMI ring pfn=0x%" PRIx64 " set=%d\n", ring,
                   xc_hvm_param_set(xch, domid, HVM_PARAM_MONITOR_RING_PFN, ring));
        }
        if (xch) xc_interface_close(xch);
    }

    double t0 = now();
    vmi_instance_t vmi = NULL;
    vmi_init_error_t error = 0;
    uint32_t flags = VMI_INIT_DOMAINID | (events ? VMI_INIT_EVENTS : 0);
    if (vmi_init(&vmi, VMI_XEN, &domid, flags, NULL, &error) != VMI_SUCCESS) {
        printf("LIBVMI vmi_init failed error=%d\n", error);
        return 1;
    }
    printf("LIBVMI vmi_init ok in %.3f s: vcpus=%u memsize=0x%" PRIx64 " max_pa=0x%" PRIx64
           " name=%s\n",
           now() - t0, vmi_get_num_vcpus(vmi), vmi_get_memsize(vmi),
           vmi_get_max_physical_address(vmi), vmi_get_name(vmi) ? vmi_get_name(vmi) : "(none)");

    static const struct { reg_t reg; const char *name; } regs[] = {
        { PC, "pc" }, { SP_EL1, "sp_el1" }, { CPSR, "cpsr" }, { SCTLR, "sctlr" },
        { TTBR0, "ttbr0" }, { TTBR1, "ttbr1" }, { TCR_EL1, "tcr_el1" },
    };
    uint64_t ttbr1 = 0;
    vmi_pause_vm(vmi);
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
        uint64_t value = 0;
        status_t s = vmi_get_vcpureg(vmi, &value, regs[i].reg, 0);
        printf("LIBVMI reg %s=%s0x%" PRIx64 "\n", regs[i].name, s == VMI_SUCCESS ? "" : "(failed) ", value);
        if (regs[i].reg == TTBR1) ttbr1 = value;
    }
    vmi_resume_vm(vmi);

    page_mode_t pm = vmi_init_paging(vmi, 0);
    printf("LIBVMI page mode %d (VMI_PM_AARCH64 = %d)\n", pm, VMI_PM_AARCH64);

    /* The arm64 Image header: "ARM\x64" at offset 0x38 of the kernel Xen placed at IPA 0x40000000. */
    uint8_t header[64];
    size_t got = 0;
    double t1 = now();
    status_t s = vmi_read_pa(vmi, 0x40000000, sizeof header, header, &got);
    printf("LIBVMI read_pa 0x40000000: %s, %zu bytes in %.1f ms, magic@0x38=%s\n", s == VMI_SUCCESS ? "ok" : "FAILED",
           got, (now() - t1) * 1e3, got == sizeof header && !memcmp(header + 0x38, "ARM\x64", 4) ? "ARM\\x64" : "?");
    if (got) hex("image header", header, got);

    /* Bulk read speed: 4 MiB of the kernel. */
    static uint8_t bulk[4 << 20];
    t1 = now();
    s = vmi_read_pa(vmi, 0x40000000, sizeof bulk, bulk, &got);
    double dt = now() - t1;
    printf("LIBVMI read_pa 4 MiB: %s, %zu bytes in %.3f s (%.1f MB/s)\n", s == VMI_SUCCESS ? "ok" : "FAILED", got, dt,
           got / dt / 1e6);

    if (va) {
        addr_t pa = 0;
        uint64_t table = ttbr1 & 0x0000fffffffffffeULL;
        s = vmi_pagetable_lookup(vmi, table, va, &pa);
        printf("LIBVMI translate va=0x%" PRIx64 " via ttbr1 table 0x%" PRIx64 ": %s pa=0x%" PRIx64 "\n", va, table,
               s == VMI_SUCCESS ? "ok" : "FAILED", pa);
        /* init_task's comm ("swapper/0"): found by searching the task's first 4 KiB, read by address. */
        uint8_t task[4096];
        access_context_t ctx = { .version = ACCESS_CONTEXT_VERSION, .translate_mechanism = VMI_TM_PROCESS_PT,
                                 .page_table = table, .addr = va };
        got = 0;
        s = vmi_read(vmi, &ctx, sizeof task, task, &got);
        const uint8_t *comm = got ? memmem(task, got, "swapper", 7) : NULL;
        printf("LIBVMI read va 4 KiB: %s %zu bytes; comm at +0x%lx: %.15s\n", s == VMI_SUCCESS ? "ok" : "FAILED", got,
               comm ? (long)(comm - task) : -1L, comm ? (const char *)comm : "(not found)");
        /* _text of this kernel (no KASLR: KIMAGE_VADDR) and its Image header, through the guest's tables. */
        uint64_t text = 0xffff800008000000ULL;
        s = vmi_pagetable_lookup(vmi, table, text, &pa);
        printf("LIBVMI translate _text va=0x%" PRIx64 ": %s pa=0x%" PRIx64 "\n", text, s == VMI_SUCCESS ? "ok" : "FAILED", pa);
        ctx.addr = text;
        got = 0;
        s = vmi_read(vmi, &ctx, sizeof header, header, &got);
        printf("LIBVMI _text header: %s, magic@0x38=%s\n", s == VMI_SUCCESS ? "ok" : "FAILED",
               got == sizeof header && !memcmp(header + 0x38, "ARM\x64", 4) ? "ARM\\x64" : "?");
        if (got) hex("_text", header, got);
    }

    int status = 0;
    if (events) {
        vmi_event_t event;
        memset(&event, 0, sizeof event);
        event.version = VMI_EVENTS_VERSION;
        event.type = VMI_EVENT_MEMORY;
        event.mem_event.gfn = ~0ULL;
        event.mem_event.in_access = VMI_MEMACCESS_W;
        event.mem_event.generic = 1;
        event.callback = on_write;
        s = vmi_register_event(vmi, &event);
        printf("LIBVMI register generic memory event: %s\n", s == VMI_SUCCESS ? "ok" : "FAILED");
        s = vmi_set_mem_event(vmi, gfn, VMI_MEMACCESS_W, 0);
        printf("LIBVMI set_mem_event gfn=0x%" PRIx64 " W: %s\n", gfn, s == VMI_SUCCESS ? "ok" : "FAILED");
        if (s == VMI_SUCCESS) trapped_gfn = gfn;
        double deadline = now() + seconds;
        while (now() < deadline)
            if (vmi_events_listen(vmi, 500) != VMI_SUCCESS) {
                printf("LIBVMI events_listen failed\n");
                status = 1;
                break;
            }
        /*
         * Where is vCPU 0 now, the hook still armed? Sampled between listens through libxenctrl (its
         * whole 64-bit pc): stuck on the trapping store, or running on (the idle loop, mostly).
         */
        xc_interface *xch = xc_interface_open(NULL, NULL, 0);
        for (int i = 0; xch && i < 5; i++) {
            vcpu_guest_context_any_t ctx;
            vmi_events_listen(vmi, 200);
            if (xc_vcpu_getcontext(xch, domid, 0, &ctx) == 0)
                printf("LIBVMI vcpu0 pc64=0x%" PRIx64 " (traps so far %lu)\n", (uint64_t)ctx.c.user_regs.pc64, traps);
        }
        if (xch) xc_interface_close(xch);
        if (trapped_gfn) vmi_set_mem_event(vmi, trapped_gfn, VMI_MEMACCESS_N, 0);
        vmi_clear_event(vmi, &event, NULL);
        printf("LIBVMI traps=%lu\n", traps);
    }
    vmi_destroy(vmi);
    printf("LIBVMI DONE\n");
    return status;
}
