/*
 * Ringside's TCG plugin for QEMU 10: the hook engine of the live QEMU backend.
 *
 * It instruments only what Ringside asks for, so an unhooked guest runs at full TCG speed:
 *  - exec hooks on guest-virtual addresses (hidden: guest memory is never modified);
 *  - stage-2-style traps: read / write / execute on guest-physical frames, per view (emulated
 *    altp2m: each vCPU is in one view, and a view says which accesses to which frames trap);
 *  - control-register and MSR writes (mov to CR0/CR3/CR4, wrmsr), decoded at translation.
 * Each event is sent to Ringside over a unix socket with the vCPU's registers, and the vCPU is held
 * until Ringside answers (with -accel tcg,thread=single every vCPU stands still meanwhile).
 * If Ringside goes away (or does not answer within timeout_ms) the guest runs on and every hook and
 * trap is dropped. Changing what is instrumented flushes QEMU's translated code once per change.
 *
 * Arguments: socket=PATH (where to listen), ram=PATH (the memory-backend-file, to map code back to
 * guest-physical frames), lowmem=BYTES (q35: RAM below 4 GiB, default: the file size or 2 GiB when
 * larger than 2.75 GiB), ram_base=ADDRESS (where RAM starts when it is one block elsewhere: ARM virt
 * puts it at 0x40000000), timeout_ms=N (default 5000).
 *
 * x86-64 and AArch64 guests: the registers sent with hits are chosen by the target at install time;
 * control-register traps are decoded for x86-64 only.
 *
 * Wire format (little-endian): frame = u32 length, u8 type, payload; see plugin-protocol.ts.
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qemu-plugin-api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = RINGSIDE_PLUGIN_API_VERSION;

#define PROTOCOL_VERSION 1
#define MAX_VCPUS 64
#define MAX_VIEWS 16
#define MAX_FRAME (16u << 20)

enum message_type {
    MSG_HELLO = 1,
    MSG_HIT = 2,
    MSG_ACK = 3,
    MSG_STATS = 4,
    MSG_RESUME = 10,
    MSG_SET_EXEC_HOOKS = 11,
    MSG_SET_WATCHES = 12,
    MSG_SWITCH_VIEW = 13,
    MSG_SET_REG_TRAPS = 14,
    MSG_GET_STATS = 15,
    MSG_ATTACH_RING = 16,
};

/* HIT_EXEC_NOTIFY: an exec hook that does not hold the vCPU (nobody answers it). */
enum hit_kind {
    HIT_EXEC_HOOK = 1,
    HIT_MEM_ACCESS = 2,
    HIT_EXEC_WATCH = 3,
    HIT_REGISTER_WRITE = 4,
    HIT_EXEC_NOTIFY = 5
};

/*
 * An exec hook's configuration. Captures are read at the hit, in the vCPU, before it goes on:
 * start from a register, follow `nderefs` pointers (each at +offset), then read `length` bytes at
 * +offset. A hook may skip the round trip (HOOK_NOTIFY: report, don't hold) and report only when
 * two captures differ (HOOK_IF_DIFFER). Configurations are never freed: translated code may still
 * point at an old one until the flush that follows a change completes.
 */
#define MAX_CAPTURES 12
#define MAX_DEREFS 4
#define MAX_CAPTURE_BYTES 1024
enum hook_flags { HOOK_NOTIFY = 1, HOOK_IF_DIFFER = 2 };
typedef struct {
    uint8_t register_index;
    uint8_t nderefs;
    int32_t derefs[MAX_DEREFS];
    int32_t offset;
    uint16_t length;
} capture_spec;
typedef struct {
    uint32_t id;
    uint8_t flags;
    uint8_t differ_a, differ_b;
    uint8_t ncaptures;
    capture_spec captures[MAX_CAPTURES];
} hook_config;
typedef struct {
    bool ok;
    uint16_t length;
    uint8_t data[MAX_CAPTURE_BYTES];
} capture_value;
/* ACCESS_KERNEL: reads/writes of that frame matter only from kernel-mode code (upper-half rip). */
enum access_bits { ACCESS_R = 1, ACCESS_W = 2, ACCESS_X = 4, ACCESS_KERNEL = 8 };
enum reg_trap_bits { TRAP_CR0 = 1u << 0, TRAP_CR3 = 1u << 3, TRAP_CR4 = 1u << 4, TRAP_MSR = 1u << 8 };

/* The registers sent with every hit, in this order (names from QEMU's x86-64 gdb description). */
static const char *const X86_64_REGISTERS[] = {
    "rip", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8",     "r9",
    "r10", "r11", "r12", "r13", "r14", "r15", "eflags", "cr0", "cr2", "cr3", "cr4",
    "efer", "fs_base", "gs_base", "k_gs_base",
};
/*
 * AArch64: QEMU's core registers and the system registers it describes to gdb (by their ARM names,
 * matched without regard to case and sent in lower case; see register_matches): SP_EL0 holds
 * `current` in the kernel, VBAR_EL1 the exception vector base.
 */
static const char *const AARCH64_REGISTERS[] = {
    "pc",  "sp",  "x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",  "x8",        "x9",        "x10",
    "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22",       "x23",
    "x24", "x25", "x26", "x27", "x28", "x29", "x30", "cpsr", "sp_el0", "ttbr0_el1", "ttbr1_el1", "tcr_el1",
    "vbar_el1",
};
#define MAX_REGISTERS 48
static const char *const *register_names = X86_64_REGISTERS;
static size_t register_count = sizeof(X86_64_REGISTERS) / sizeof(X86_64_REGISTERS[0]);
static bool target_x86 = true;
#define REGISTER_COUNT register_count
#define REGISTER_NAMES register_names
/* Indexes into X86_64_REGISTERS used by the decoder. */
static const int GPR_INDEX[16] = {1, 3, 4, 2, 8, 7, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16};
#define REG_RIP 0

typedef struct {
    struct qemu_plugin_register *handles[MAX_REGISTERS];
    unsigned int view;
} vcpu_state;

typedef struct {
    uint8_t *frames; /* access bits per guest frame below `frame_limit`; NULL when the view is empty */
    GHashTable *high; /* frame -> access bits for frames at or above frame_limit */
    size_t count;
} view_table;

static qemu_plugin_id_t plugin_id;
static char *socket_path;
static char *ram_path;
static uint64_t lowmem;
static uint64_t ram_base;
static uint64_t ram_size;
static int timeout_ms = 5000;
static uintptr_t ram_host_base;
static uint64_t frame_limit;

static vcpu_state vcpus[MAX_VCPUS];
static view_table views[MAX_VIEWS];

/* Active configuration, read by translation and callbacks; changed under config_lock. */
static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *exec_hooks; /* vaddr -> hook_config */
static GHashTable *exec_frames; /* union of frames any view traps on execute -> 1 */
static bool rw_watch_active;
/* Which accesses the memory callback is needed for (ACCESS_R | ACCESS_W), and whether code in the
 * lower (user) half must be instrumented too: instrumenting only stores, only in kernel code, is
 * what keeps write traps on kernel frames cheap. */
static uint8_t rw_watch_mask;
static bool rw_watch_user;
static uint32_t register_traps;
/* Staged changes that need translated code flushed before they take effect. */
static GHashTable *staged_exec_hooks;
static bool staged_exec_hooks_set;
static uint32_t staged_register_traps;
static bool staged_register_traps_set;
static bool rescan_watches;
static GArray *pending_acks; /* u32 sequence numbers acknowledged once the flush is done */

/* The flush doorbell, tested by a call at the start of every TB (see tb_trans). */
static volatile bool reset_in_progress;
static bool doorbell_rung;

/* The peer (Ringside) connection. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER; /* one frame on the socket at a time */
static pthread_mutex_t hit_lock = PTHREAD_MUTEX_INITIALIZER; /* one held vCPU at a time */
/*
 * Whoever holds read_lock reads frames from the peer. A held vCPU reads its own resume (and any
 * configuration that arrives meanwhile) directly, so a hit costs two thread wake-ups, not three.
 */
static pthread_mutex_t read_lock = PTHREAD_MUTEX_INITIALIZER;
static int listen_fd = -1;
static volatile int peer_fd = -1;
static uint32_t next_sequence = 1;

static struct {
    uint64_t hits, timeouts, flushes, dropped, notified, filtered;
    uint64_t hold_ns_total, hold_ns_max;
} stats;
#define HOLD_SAMPLES 4096
static uint64_t hold_samples[HOLD_SAMPLES]; /* the last holds, for the median */
static uint64_t hold_samples_base; /* stats.hits when the samples were last reset */

/*
 * The hit ring: a file Ringside creates and names in MSG_ATTACH_RING, mapped shared by both sides.
 * Held hits go through it instead of the socket: the frame in the slot, its sequence in `request`
 * (a futex Ringside's worker thread sleeps on), and the resume as `reply` (a futex the held vCPU
 * sleeps on). One slot is enough: hit_lock holds one vCPU at a time. Bounded: a frame that does not
 * fit goes by the socket. A dead peer wakes the vCPU (drop_peer), a silent one after timeout_ms.
 */
#define RING_MAGIC 0x47525352u /* "RSRG" */
#define RING_VERSION 1
#define RING_HEADER 64
#define RING_SLOT (64u << 10)
typedef struct {
    uint32_t magic, version;
    uint32_t request; /* futex: sequence of the hit in the slot */
    uint32_t reply;   /* futex: last sequence resumed */
    uint32_t attached;
    uint32_t length;
    uint32_t closed; /* Ringside detached */
    uint32_t frames; /* socket frames Ringside had sent when it replied (see ring_round_trip) */
    uint32_t node_private[4]; /* Ringside's own (its worker's futex timeout) */
    uint64_t sent_ns; /* CLOCK_MONOTONIC when the hit was put in the slot (latency figures) */
    uint32_t reserved[2];
    uint8_t slot[];
} hit_ring;
static hit_ring *ring;
static volatile bool ring_active;
static __thread bool holding_hit; /* this thread holds hit_lock (a held vCPU reading the socket) */
static uint64_t ring_hits, ring_timeouts;
/* Frames from the peer handled so far (a private futex: the held vCPU waits on it, see below). */
static uint32_t handled_frames;

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

/* ------------------------------------------------------------------ socket I/O */

static bool write_all(int fd, const void *data, size_t length)
{
    const uint8_t *bytes = data;
    while (length > 0) {
        ssize_t written = send(fd, bytes, length, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        bytes += written;
        length -= (size_t)written;
    }
    return true;
}

static bool read_all(int fd, void *data, size_t length)
{
    uint8_t *bytes = data;
    while (length > 0) {
        ssize_t got = recv(fd, bytes, length, 0);
        if (got == 0) {
            return false;
        }
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        bytes += got;
        length -= (size_t)got;
    }
    return true;
}

typedef struct {
    uint8_t *data;
    size_t length, capacity;
} buffer;

static void put(buffer *out, const void *data, size_t length)
{
    if (out->length + length > out->capacity) {
        out->capacity = (out->length + length) * 2 + 64;
        out->data = g_realloc(out->data, out->capacity);
    }
    memcpy(out->data + out->length, data, length);
    out->length += length;
}
static void put_u8(buffer *out, uint8_t value) { put(out, &value, 1); }
static void put_u32(buffer *out, uint32_t value) { put(out, &value, 4); }
static void put_u64(buffer *out, uint64_t value) { put(out, &value, 8); }

/* Starts a frame: the length is patched by send_frame. */
static buffer begin_frame(uint8_t type)
{
    buffer out = {0};
    put_u32(&out, 0);
    put_u8(&out, type);
    return out;
}

/* Sends a frame to the peer. Never called with write_lock held. */
static bool send_frame(buffer *out)
{
    uint32_t length = (uint32_t)(out->length - 4);
    memcpy(out->data, &length, 4);
    pthread_mutex_lock(&write_lock);
    bool ok = peer_fd >= 0 && write_all(peer_fd, out->data, out->length);
    pthread_mutex_unlock(&write_lock);
    g_free(out->data);
    return ok;
}

static void send_ack(uint32_t sequence)
{
    buffer out = begin_frame(MSG_ACK);
    put_u32(&out, sequence);
    send_frame(&out);
}

/* ------------------------------------------------------------------ configuration */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t view_access(const view_table *view, uint64_t frame)
{
    if (view->count == 0) {
        return 0;
    }
    if (frame < frame_limit) {
        return view->frames ? view->frames[frame] : 0;
    }
    return view->high ? (uint8_t)GPOINTER_TO_UINT(g_hash_table_lookup(view->high, GSIZE_TO_POINTER(frame))) : 0;
}

static void clear_view(view_table *view)
{
    if (view->frames) {
        memset(view->frames, 0, frame_limit);
    }
    if (view->high) {
        g_hash_table_remove_all(view->high);
    }
    view->count = 0;
}

static void set_view_access(view_table *view, uint64_t frame, uint8_t access)
{
    if (frame < frame_limit) {
        if (!view->frames) {
            view->frames = g_malloc0(frame_limit);
        }
        view->frames[frame] = access;
    } else {
        if (!view->high) {
            view->high = g_hash_table_new(g_direct_hash, g_direct_equal);
        }
        g_hash_table_insert(view->high, GSIZE_TO_POINTER(frame), GUINT_TO_POINTER(access));
    }
    view->count++;
}

/* Recomputes the union of executable traps and whether any view traps reads or writes. */
static bool recompute_watch_union_locked(void)
{
    GHashTable *frames = g_hash_table_new(g_direct_hash, g_direct_equal);
    bool rw = false;
    uint8_t mask = 0;
    bool user = false;
    for (int v = 0; v < MAX_VIEWS; v++) {
        view_table *view = &views[v];
        if (view->count == 0) {
            continue;
        }
        if (view->frames) {
            for (uint64_t frame = 0; frame < frame_limit; frame++) {
                uint8_t access = view->frames[frame];
                rw |= (access & (ACCESS_R | ACCESS_W)) != 0;
                mask |= access & (ACCESS_R | ACCESS_W);
                user |= (access & (ACCESS_R | ACCESS_W)) != 0 && !(access & ACCESS_KERNEL);
                if (access & ACCESS_X) {
                    g_hash_table_insert(frames, GSIZE_TO_POINTER(frame), GUINT_TO_POINTER(1));
                }
            }
        }
        if (view->high) {
            GHashTableIter iter;
            gpointer key, value;
            g_hash_table_iter_init(&iter, view->high);
            while (g_hash_table_iter_next(&iter, &key, &value)) {
                uint8_t access = (uint8_t)GPOINTER_TO_UINT(value);
                rw |= (access & (ACCESS_R | ACCESS_W)) != 0;
                mask |= access & (ACCESS_R | ACCESS_W);
                user |= (access & (ACCESS_R | ACCESS_W)) != 0 && !(access & ACCESS_KERNEL);
                if (access & ACCESS_X) {
                    g_hash_table_insert(frames, key, GUINT_TO_POINTER(1));
                }
            }
        }
    }
    bool changed = rw != rw_watch_active || mask != rw_watch_mask || user != rw_watch_user ||
                   g_hash_table_size(frames) != g_hash_table_size(exec_frames);
    if (!changed) {
        GHashTableIter iter;
        gpointer key, value;
        g_hash_table_iter_init(&iter, frames);
        while (g_hash_table_iter_next(&iter, &key, &value)) {
            if (!g_hash_table_contains(exec_frames, key)) {
                changed = true;
                break;
            }
        }
    }
    if (changed) {
        g_hash_table_destroy(exec_frames);
        exec_frames = frames;
        rw_watch_active = rw;
        rw_watch_mask = mask;
        rw_watch_user = user;
    } else {
        g_hash_table_destroy(frames);
    }
    return changed;
}

static void ring_doorbell(void)
{
    __atomic_store_n(&doorbell_rung, true, __ATOMIC_RELEASE);
}

/* Asks for a flush; `sequence` (0 for none) is acknowledged when it is done. */
static void request_flush_locked(uint32_t sequence)
{
    if (sequence) {
        g_array_append_val(pending_acks, sequence);
    }
    ring_doorbell();
}

static void at_exit(qemu_plugin_id_t id, void *userdata);

static void reset_done(qemu_plugin_id_t id)
{
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    pthread_mutex_lock(&config_lock);
    GArray *acks = pending_acks;
    pending_acks = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    stats.flushes++;
    reset_in_progress = false;
    pthread_mutex_unlock(&config_lock);
    for (guint i = 0; i < acks->len; i++) {
        send_ack(g_array_index(acks, uint32_t, i));
    }
    g_array_free(acks, TRUE);
}

/* Runs in vCPU context at the start of a TB when the doorbell rang: commit staged changes, flush. */
static void on_doorbell(unsigned int vcpu_index, void *userdata)
{
    (void)userdata;
    if (__builtin_expect(!__atomic_load_n(&doorbell_rung, __ATOMIC_ACQUIRE), 1)) {
        return;
    }
    doorbell_rung = false;
    (void)vcpu_index;
    pthread_mutex_lock(&config_lock);
    if (reset_in_progress) {
        /* A flush is under way: ring again so these changes follow it. */
        __atomic_store_n(&doorbell_rung, true, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&config_lock);
        return;
    }
    if (staged_exec_hooks_set) {
        g_hash_table_destroy(exec_hooks);
        exec_hooks = staged_exec_hooks;
        staged_exec_hooks = NULL;
        staged_exec_hooks_set = false;
    }
    if (staged_register_traps_set) {
        register_traps = staged_register_traps;
        staged_register_traps_set = false;
    }
    if (rescan_watches) {
        recompute_watch_union_locked();
        rescan_watches = false;
    }
    reset_in_progress = true;
    pthread_mutex_unlock(&config_lock);
    qemu_plugin_reset(plugin_id, reset_done);
}

/* Drops every hook and trap (the peer went away) and puts all vCPUs back in view 0. */
static void clear_all_locked(void)
{
    if (staged_exec_hooks) {
        g_hash_table_destroy(staged_exec_hooks);
    }
    staged_exec_hooks = g_hash_table_new(g_int64_hash, g_int64_equal);
    staged_exec_hooks_set = true;
    staged_register_traps = 0;
    staged_register_traps_set = true;
    for (int v = 0; v < MAX_VIEWS; v++) {
        clear_view(&views[v]);
    }
    for (int c = 0; c < MAX_VCPUS; c++) {
        vcpus[c].view = 0;
    }
    rescan_watches = true;
    request_flush_locked(0);
}

static long futex(uint32_t *word, int op, uint32_t value, const struct timespec *timeout)
{
    return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

/* Maps the ring file Ringside created; false (ring unused) when it is not one. */
static bool attach_ring(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    struct stat info;
    size_t size = RING_HEADER + RING_SLOT;
    bool ok = fstat(fd, &info) == 0 && (size_t)info.st_size >= size;
    void *mapped = ok ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    close(fd);
    if (mapped == MAP_FAILED) {
        return false;
    }
    hit_ring *candidate = mapped;
    if (candidate->magic != RING_MAGIC || candidate->version != RING_VERSION) {
        munmap(mapped, size);
        return false;
    }
    __atomic_store_n(&candidate->reply, candidate->request, __ATOMIC_RELEASE);
    candidate->attached = 1;
    ring = candidate;
    __atomic_store_n(&ring_active, true, __ATOMIC_RELEASE);
    return true;
}

/* Stops using the ring: a vCPU waiting on it is woken first, and the mapping goes once it left. */
static void detach_ring(void)
{
    if (!ring) {
        return;
    }
    __atomic_store_n(&ring_active, false, __ATOMIC_RELEASE);
    futex(&ring->reply, FUTEX_WAKE, INT32_MAX, NULL);
    /* A held vCPU handling this message itself is on the socket path, not in the ring. */
    if (!holding_hit) {
        pthread_mutex_lock(&hit_lock);
    }
    munmap(ring, RING_HEADER + RING_SLOT);
    ring = NULL;
    if (!holding_hit) {
        pthread_mutex_unlock(&hit_lock);
    }
}

/* In the held vCPU (hit_lock held): the hit through the ring, then sleep until its resume. */
static void ring_round_trip(const buffer *out, uint32_t sequence)
{
    uint32_t length = (uint32_t)(out->length - 4);
    memcpy(ring->slot, out->data + 4, length);
    ring->length = length;
    ring->sent_ns = now_ns();
    __atomic_store_n(&ring->request, sequence, __ATOMIC_RELEASE);
    futex(&ring->request, FUTEX_WAKE, 1, NULL);
    ring_hits++;
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        uint32_t reply = __atomic_load_n(&ring->reply, __ATOMIC_ACQUIRE);
        if ((int32_t)(reply - sequence) >= 0) {
            break;
        }
        if (!__atomic_load_n(&ring_active, __ATOMIC_ACQUIRE) || ring->closed) {
            return; /* Ringside went away or detached: go on */
        }
        uint64_t now = now_ns();
        if (now >= deadline) {
            stats.timeouts++;
            ring_timeouts++;
            return;
        }
        uint64_t wait = deadline - now < 100000000ull ? deadline - now : 100000000ull;
        struct timespec timeout = {.tv_sec = (time_t)(wait / 1000000000ull), .tv_nsec = (long)(wait % 1000000000ull)};
        futex(&ring->reply, FUTEX_WAIT, reply, &timeout);
    }
    /*
     * What the handler sent on the socket before it replied (traps it armed, hooks it changed) must
     * be in effect before this vCPU goes on, as on the socket path where the resume comes after
     * them: wait until the peer thread has handled that many frames.
     */
    uint32_t frames = __atomic_load_n(&ring->frames, __ATOMIC_ACQUIRE);
    for (;;) {
        uint32_t handled = __atomic_load_n(&handled_frames, __ATOMIC_ACQUIRE);
        if ((int32_t)(handled - frames) >= 0 || !__atomic_load_n(&ring_active, __ATOMIC_ACQUIRE) || peer_fd < 0) {
            return;
        }
        uint64_t now = now_ns();
        if (now >= deadline) {
            stats.timeouts++;
            ring_timeouts++;
            return;
        }
        struct timespec timeout = {.tv_sec = 0, .tv_nsec = 1000000};
        futex(&handled_frames, FUTEX_WAIT_PRIVATE, handled, &timeout);
    }
}

/* ------------------------------------------------------------------ hits */

static void read_registers(unsigned int vcpu_index, uint64_t *values)
{
    GByteArray *buf = g_byte_array_sized_new(64);
    for (size_t r = 0; r < REGISTER_COUNT; r++) {
        values[r] = 0;
        struct qemu_plugin_register *handle = vcpu_index < MAX_VCPUS ? vcpus[vcpu_index].handles[r] : NULL;
        if (!handle) {
            continue;
        }
        g_byte_array_set_size(buf, 0);
        int size = qemu_plugin_read_register(handle, buf);
        if (size > 0) {
            uint64_t value = 0;
            memcpy(&value, buf->data, size < 8 ? (size_t)size : 8);
            values[r] = value;
        }
    }
    g_byte_array_free(buf, TRUE);
}

static bool handle_message(uint8_t type, const uint8_t *at, const uint8_t *end);

/* Reads one frame; false on EOF, error or a malformed length. The caller frees *frame. */
static bool read_frame(int fd, uint8_t **frame, uint32_t *length)
{
    if (!read_all(fd, length, 4) || *length == 0 || *length > MAX_FRAME) {
        return false;
    }
    *frame = g_malloc(*length);
    if (!read_all(fd, *frame, *length)) {
        g_free(*frame);
        return false;
    }
    return true;
}

/* In the held vCPU: reads frames until the resume for `sequence`, the timeout, or a broken peer. */
static void await_resume(int fd, uint32_t sequence)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline) {
            stats.timeouts++;
            return;
        }
        struct pollfd pending = {.fd = fd, .events = POLLIN};
        int ready = poll(&pending, 1, (int)((deadline - now + 999999) / 1000000));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            continue; /* the deadline check above ends the wait */
        }
        uint8_t *frame;
        uint32_t length;
        if (!read_frame(fd, &frame, &length)) {
            /* EOF or garbage: the peer thread sees it too and drops the peer. */
            return;
        }
        bool resumed = false;
        if (frame[0] == MSG_RESUME && length >= 5) {
            uint32_t resumed_sequence_value;
            memcpy(&resumed_sequence_value, frame + 1, 4);
            resumed = (int32_t)(resumed_sequence_value - sequence) >= 0;
        }
        bool ok = handle_message(frame[0], frame + 1, frame + length);
        g_free(frame);
        if (resumed || !ok) {
            return;
        }
    }
}

/* Sends a hit and holds the vCPU until Ringside resumes it, goes away, or the timeout passes. */
static void on_doorbell(unsigned int vcpu_index, void *userdata);

static void report_hit_full(unsigned int vcpu_index, uint8_t kind, uint32_t hook, uint64_t address, uint64_t aux1,
                            uint64_t aux2, uint64_t rip, const uint64_t *known_registers,
                            const capture_value *captures, unsigned int ncaptures);

static void report_hit_at(unsigned int vcpu_index, uint8_t kind, uint32_t hook, uint64_t address, uint64_t aux1,
                          uint64_t aux2, uint64_t rip)
{
    report_hit_full(vcpu_index, kind, hook, address, aux1, aux2, rip, NULL, NULL, 0);
}

static void put_captures(buffer *out, const capture_value *captures, unsigned int ncaptures)
{
    put_u8(out, (uint8_t)ncaptures);
    for (unsigned int c = 0; c < ncaptures; c++) {
        put_u8(out, captures[c].ok ? 1 : 0);
        uint16_t length = captures[c].ok ? captures[c].length : 0;
        put(out, &length, 2);
        put(out, captures[c].data, length);
    }
}

/* The frame of a hit: who, where, the registers and the captures. */
static buffer hit_frame(uint32_t sequence, uint8_t kind, unsigned int vcpu_index, uint32_t hook, uint64_t address,
                        uint64_t aux1, uint64_t aux2, const uint64_t *registers, const capture_value *captures,
                        unsigned int ncaptures)
{
    buffer out = begin_frame(MSG_HIT);
    put_u32(&out, sequence);
    put_u8(&out, kind);
    put_u32(&out, vcpu_index);
    put_u32(&out, vcpu_index < MAX_VCPUS ? vcpus[vcpu_index].view : 0);
    put_u32(&out, hook);
    put_u64(&out, address);
    put_u64(&out, aux1);
    put_u64(&out, aux2);
    put_u32(&out, (uint32_t)REGISTER_COUNT);
    for (size_t r = 0; r < REGISTER_COUNT; r++) {
        put_u64(&out, registers[r]);
    }
    put_captures(&out, captures, ncaptures);
    return out;
}

/* A hit nobody answers: sent, and the vCPU goes on at once. */
static void report_notify(unsigned int vcpu_index, uint32_t hook, const uint64_t *registers,
                          const capture_value *captures, unsigned int ncaptures)
{
    pthread_mutex_lock(&hit_lock);
    int fd = peer_fd;
    if (fd < 0) {
        pthread_mutex_unlock(&hit_lock);
        return;
    }
    buffer out = hit_frame(next_sequence++, HIT_EXEC_NOTIFY, vcpu_index, hook, 0, 0, 0, registers, captures,
                           ncaptures);
    if (!send_frame(&out)) {
        stats.dropped++;
    }
    stats.notified++;
    pthread_mutex_unlock(&hit_lock);
}

static void report_hit_full(unsigned int vcpu_index, uint8_t kind, uint32_t hook, uint64_t address, uint64_t aux1,
                            uint64_t aux2, uint64_t rip, const uint64_t *known_registers,
                            const capture_value *captures, unsigned int ncaptures)
{
    if (peer_fd < 0) {
        return;
    }
    uint64_t registers[MAX_REGISTERS];
    if (known_registers) {
        memcpy(registers, known_registers, register_count * sizeof(registers[0]));
    } else {
        read_registers(vcpu_index, registers);
    }
    if (rip) {
        registers[REG_RIP] = rip; /* a callback without register sync: the instruction's own address */
    }
    uint64_t started = now_ns();
    pthread_mutex_lock(&hit_lock);
    if (peer_fd < 0) {
        pthread_mutex_unlock(&hit_lock);
        return;
    }
    holding_hit = true;
    uint32_t sequence = next_sequence++;
    buffer out = hit_frame(sequence, kind, vcpu_index, hook, address, aux1, aux2, registers, captures, ncaptures);
    if (__atomic_load_n(&ring_active, __ATOMIC_ACQUIRE) && ring && out.length - 4 <= RING_SLOT) {
        ring_round_trip(&out, sequence);
        g_free(out.data);
    } else {
        pthread_mutex_lock(&read_lock);
    int fd = peer_fd;
    bool sent = fd >= 0 && send_frame(&out);
    if (sent) {
        await_resume(fd, sequence);
    } else {
        if (fd < 0) {
            g_free(out.data);
        }
        stats.dropped++;
    }
    pthread_mutex_unlock(&read_lock);
    }
    /* Changes made while this vCPU was held (traps armed by the handler) start their flush now,
     * in vCPU context: it takes effect at the next block boundary, not one block later. */
    on_doorbell(vcpu_index, NULL);
    uint64_t held = now_ns() - started;
    hold_samples[stats.hits % HOLD_SAMPLES] = held;
    stats.hits++;
    stats.hold_ns_total += held;
    if (held > stats.hold_ns_max) {
        stats.hold_ns_max = held;
    }
    holding_hit = false;
    pthread_mutex_unlock(&hit_lock);
}

static void report_hit(unsigned int vcpu_index, uint8_t kind, uint32_t hook, uint64_t address, uint64_t aux1,
                       uint64_t aux2)
{
    report_hit_at(vcpu_index, kind, hook, address, aux1, aux2, 0);
}

/* Follows a capture's pointers and reads its bytes in the vCPU's address space. */
static void read_capture(const capture_spec *spec, const uint64_t *registers, GByteArray *scratch,
                         capture_value *value)
{
    value->ok = false;
    value->length = 0;
    uint64_t address = spec->register_index < REGISTER_COUNT ? registers[spec->register_index] : 0;
    for (unsigned int d = 0; d < spec->nderefs; d++) {
        g_byte_array_set_size(scratch, 0);
        if (!qemu_plugin_read_memory_vaddr(address + (int64_t)spec->derefs[d], scratch, 8) || scratch->len < 8) {
            return;
        }
        memcpy(&address, scratch->data, 8);
    }
    /* Page by page: a capture that runs into an unmapped page (the top of a stack, say) keeps
     * what came before it; one whose first page is unmapped fails. */
    uint64_t at = address + (int64_t)spec->offset;
    uint16_t done = 0;
    while (done < spec->length) {
        uint64_t page_left = 4096 - ((at + done) & 4095);
        uint64_t wanted = (uint64_t)(spec->length - done);
        uint16_t chunk = (uint16_t)(wanted < page_left ? wanted : page_left);
        g_byte_array_set_size(scratch, 0);
        if (!qemu_plugin_read_memory_vaddr(at + done, scratch, chunk) || scratch->len < chunk) {
            break;
        }
        memcpy(value->data + done, scratch->data, chunk);
        done += chunk;
    }
    value->length = done;
    value->ok = done > 0;
}

static void on_exec_hook(unsigned int vcpu_index, void *userdata)
{
    const hook_config *config = userdata;
    if (config->ncaptures == 0 && config->flags == 0) {
        report_hit(vcpu_index, HIT_EXEC_HOOK, config->id, 0, 0, 0);
        return;
    }
    if (peer_fd < 0) {
        return;
    }
    uint64_t registers[MAX_REGISTERS];
    read_registers(vcpu_index, registers);
    capture_value values[MAX_CAPTURES];
    GByteArray *scratch = g_byte_array_sized_new(MAX_CAPTURE_BYTES);
    for (unsigned int c = 0; c < config->ncaptures; c++) {
        read_capture(&config->captures[c], registers, scratch, &values[c]);
    }
    g_byte_array_free(scratch, TRUE);
    if (config->flags & HOOK_IF_DIFFER) {
        const capture_value *a = &values[config->differ_a];
        const capture_value *b = &values[config->differ_b];
        if (a->ok && b->ok && a->length == b->length && memcmp(a->data, b->data, a->length) == 0) {
            stats.filtered++;
            return;
        }
    }
    if (config->flags & HOOK_NOTIFY) {
        report_notify(vcpu_index, config->id, registers, values, config->ncaptures);
    } else {
        report_hit_full(vcpu_index, HIT_EXEC_HOOK, config->id, 0, 0, 0, 0, registers, values, config->ncaptures);
    }
}

static uint64_t host_to_guest_physical(const void *host)
{
    uintptr_t pointer = (uintptr_t)host;
    if (!ram_host_base || pointer < ram_host_base || pointer >= ram_host_base + ram_size) {
        return UINT64_MAX;
    }
    uint64_t offset = pointer - ram_host_base;
    if (ram_base) {
        return ram_base + offset;
    }
    return offset < lowmem ? offset : offset - lowmem + (4ull << 30);
}

static void on_exec_watch(unsigned int vcpu_index, void *userdata)
{
    uint64_t physical = (uint64_t)(uintptr_t)userdata;
    unsigned int view = vcpu_index < MAX_VCPUS ? vcpus[vcpu_index].view : 0;
    if (view_access(&views[view], physical >> 12) & ACCESS_X) {
        report_hit(vcpu_index, HIT_EXEC_WATCH, 0, physical, 0, 0);
    }
}

static void on_mem(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr, void *userdata)
{
    struct qemu_plugin_hwaddr *hw = qemu_plugin_get_hwaddr(info, vaddr);
    if (!hw || qemu_plugin_hwaddr_is_io(hw)) {
        return;
    }
    uint64_t physical = qemu_plugin_hwaddr_phys_addr(hw);
    unsigned int view = vcpu_index < MAX_VCPUS ? vcpus[vcpu_index].view : 0;
    bool store = qemu_plugin_mem_is_store(info);
    uint8_t access = view_access(&views[view], physical >> 12);
    if (access & (store ? ACCESS_W : ACCESS_R)) {
        uint64_t size = 1ull << qemu_plugin_mem_size_shift(info);
        report_hit_at(vcpu_index, HIT_MEM_ACCESS, 0, physical, vaddr, (size << 8) | (store ? ACCESS_W : ACCESS_R),
                      (uint64_t)(uintptr_t)userdata);
    }
}

/* Where a register write is: the instruction (its address is the writer's rip), the register (CR
 * number, or 0xff for wrmsr) and the source GPR. One per instrumented instruction, kept for the
 * plugin's lifetime (such instructions are few). */
typedef struct {
    uint64_t vaddr;
    uint8_t target;
    uint8_t source;
} register_site;

/* CR bits whose change is reported: CR0.WP; CR4.SMEP, SMAP, UMIP. Other CR0/CR4 writes (the kernel
 * toggles CR4 bits on context switches) go by without a round trip. */
static uint64_t watched_cr_bits(unsigned int cr)
{
    if (cr == 0) {
        return 1ull << 16;
    }
    if (cr == 4) {
        return (1ull << 20) | (1ull << 21) | (1ull << 11);
    }
    return ~0ull;
}

static void on_register_write(unsigned int vcpu_index, void *userdata)
{
    const register_site *site = userdata;
    uint64_t registers[MAX_REGISTERS];
    read_registers(vcpu_index, registers);
    if (site->target == 0xff) {
        uint64_t msr = registers[GPR_INDEX[1]] & 0xffffffffu; /* ecx */
        uint64_t value = (registers[GPR_INDEX[2]] << 32) | (registers[GPR_INDEX[0]] & 0xffffffffu);
        report_hit_at(vcpu_index, HIT_REGISTER_WRITE, 0x100, msr, value, 0, site->vaddr);
        return;
    }
    uint64_t value = registers[GPR_INDEX[site->source]];
    int index = site->target == 0 ? 18 : site->target == 3 ? 20 : site->target == 4 ? 21 : -1;
    if (index >= 0 && ((registers[index] ^ value) & watched_cr_bits(site->target)) == 0) {
        return;
    }
    report_hit_at(vcpu_index, HIT_REGISTER_WRITE, site->target, site->target, value, 0, site->vaddr);
}

/* ------------------------------------------------------------------ translation */

/* Recognises mov to CRn (0F 22 /r) and wrmsr (0F 30) after legacy and REX prefixes. */
static bool decode_register_write(const uint8_t *code, size_t size, unsigned int *target, unsigned int *source)
{
    size_t at = 0;
    uint8_t rex = 0;
    while (at < size && (code[at] == 0x66 || code[at] == 0xf2 || code[at] == 0xf3 || code[at] == 0x2e ||
                         code[at] == 0x3e || code[at] == 0x26 || code[at] == 0x64 || code[at] == 0x65 ||
                         code[at] == 0x36)) {
        at++;
    }
    if (at < size && (code[at] & 0xf0) == 0x40) {
        rex = code[at++];
    }
    if (at + 1 >= size || code[at] != 0x0f) {
        return false;
    }
    if (code[at + 1] == 0x30) {
        *target = 0xff;
        *source = 0;
        return true;
    }
    if (code[at + 1] == 0x22 && at + 2 < size) {
        uint8_t modrm = code[at + 2];
        *target = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
        *source = (modrm & 7) | ((rex & 1) ? 8 : 0);
        return true;
    }
    return false;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t count = qemu_plugin_tb_n_insns(tb);
    /*
     * The doorbell: a call at the start of every TB that returns at once unless a flush is pending.
     * (QEMU 10.0's conditional callbacks, which would test it inline, corrupted guest state here.)
     */
    if (count > 0) {
        qemu_plugin_register_vcpu_insn_exec_cb(qemu_plugin_tb_get_insn(tb, 0), on_doorbell, QEMU_PLUGIN_CB_NO_REGS, NULL);
    }
    pthread_mutex_lock(&config_lock);
    bool any_hooks = g_hash_table_size(exec_hooks) > 0;
    bool any_exec_frames = g_hash_table_size(exec_frames) > 0;
    for (size_t i = 0; i < count; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        if (any_hooks) {
            gpointer hook = g_hash_table_lookup(exec_hooks, &vaddr);
            if (hook) {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_exec_hook, QEMU_PLUGIN_CB_R_REGS, hook);
            }
        }
        if (any_exec_frames) {
            uint64_t physical = host_to_guest_physical(qemu_plugin_insn_haddr(insn));
            if (physical != UINT64_MAX && g_hash_table_contains(exec_frames, GSIZE_TO_POINTER(physical >> 12))) {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_exec_watch, QEMU_PLUGIN_CB_R_REGS,
                                                       (void *)(uintptr_t)physical);
            }
        }
        if (rw_watch_active && (rw_watch_user || (vaddr >> 63) != 0)) {
            enum qemu_plugin_mem_rw rw = rw_watch_mask == ACCESS_W   ? QEMU_PLUGIN_MEM_W
                                         : rw_watch_mask == ACCESS_R ? QEMU_PLUGIN_MEM_R
                                                                     : QEMU_PLUGIN_MEM_RW;
            /* No register sync on every access: the rare reporting call reads what it needs, and
             * the writer's rip is the instruction's address, passed here. */
            qemu_plugin_register_vcpu_mem_cb(insn, on_mem, QEMU_PLUGIN_CB_NO_REGS, rw, (void *)(uintptr_t)vaddr);
        }
        if (register_traps && target_x86) {
            uint8_t code[16];
            size_t size = qemu_plugin_insn_data(insn, code, sizeof(code));
            unsigned int target, source;
            if (decode_register_write(code, size, &target, &source)) {
                bool wanted = target == 0xff ? (register_traps & TRAP_MSR) != 0
                                             : target < 16 && (register_traps & (1u << target)) != 0;
                if (wanted) {
                    register_site *site = g_new(register_site, 1);
                    site->vaddr = vaddr;
                    site->target = (uint8_t)target;
                    site->source = (uint8_t)source;
                    qemu_plugin_register_vcpu_insn_exec_cb(insn, on_register_write, QEMU_PLUGIN_CB_R_REGS, site);
                }
            }
        }
    }
    pthread_mutex_unlock(&config_lock);
}

/*
 * True when QEMU's register `name` is the one Ringside calls `wanted`: the same name in any case, or,
 * for a system register QEMU names once for AArch32 and AArch64 (VBAR for VBAR_EL1), the name without
 * its "_el1" (only when `exact` is false: an exact match wins).
 */
static bool register_matches(const char *name, const char *wanted, bool exact)
{
    if (g_ascii_strcasecmp(name, wanted) == 0) {
        return true;
    }
    size_t length = strlen(wanted);
    return !exact && length > 4 && g_ascii_strcasecmp(wanted + length - 4, "_el1") == 0 &&
           strlen(name) == length - 4 && g_ascii_strncasecmp(name, wanted, length - 4) == 0;
}

static void vcpu_init(qemu_plugin_id_t id, unsigned int vcpu_index)
{
    (void)id;
    if (vcpu_index >= MAX_VCPUS) {
        return;
    }
    GArray *descriptors = qemu_plugin_get_registers();
    for (int pass = 0; pass < 2; pass++) {
        for (guint i = 0; i < descriptors->len; i++) {
            qemu_plugin_reg_descriptor *descriptor = &g_array_index(descriptors, qemu_plugin_reg_descriptor, i);
            for (size_t r = 0; r < REGISTER_COUNT; r++) {
                if (!vcpus[vcpu_index].handles[r] && register_matches(descriptor->name, REGISTER_NAMES[r], pass == 0)) {
                    vcpus[vcpu_index].handles[r] = descriptor->handle;
                }
            }
        }
    }
    g_array_free(descriptors, TRUE);
}

/* ------------------------------------------------------------------ the peer thread */

static bool read_u32(const uint8_t **at, const uint8_t *end, uint32_t *value)
{
    if (*at + 4 > end) {
        return false;
    }
    memcpy(value, *at, 4);
    *at += 4;
    return true;
}

static bool read_u64(const uint8_t **at, const uint8_t *end, uint64_t *value)
{
    if (*at + 8 > end) {
        return false;
    }
    memcpy(value, *at, 8);
    *at += 8;
    return true;
}

static void send_hello(void)
{
    buffer out = begin_frame(MSG_HELLO);
    put_u32(&out, PROTOCOL_VERSION);
    put_u32(&out, (uint32_t)qemu_plugin_num_vcpus());
    put_u32(&out, MAX_VIEWS);
    put_u32(&out, (uint32_t)REGISTER_COUNT);
    for (size_t r = 0; r < REGISTER_COUNT; r++) {
        size_t length = strlen(REGISTER_NAMES[r]);
        put_u8(&out, (uint8_t)length);
        put(&out, REGISTER_NAMES[r], length);
    }
    send_frame(&out);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void send_stats(uint32_t sequence, bool reset)
{
    uint64_t since = stats.hits - hold_samples_base;
    size_t samples = since < HOLD_SAMPLES ? (size_t)since : HOLD_SAMPLES;
    /* The newest `samples` holds sit just before stats.hits in the circular buffer. */
    uint64_t *sorted = g_new(uint64_t, HOLD_SAMPLES);
    for (size_t i = 0; i < samples; i++) {
        sorted[i] = hold_samples[(stats.hits - 1 - i) % HOLD_SAMPLES];
    }
    qsort(sorted, samples, sizeof(uint64_t), compare_u64);
    uint64_t median = samples ? sorted[samples / 2] : 0;
    uint64_t p99 = samples ? sorted[(samples * 99) / 100] : 0;
    g_free(sorted);
    if (reset) {
        hold_samples_base = stats.hits;
    }
    buffer out = begin_frame(MSG_STATS);
    put_u32(&out, sequence);
    put_u64(&out, stats.hits);
    put_u64(&out, stats.timeouts);
    put_u64(&out, stats.flushes);
    put_u64(&out, stats.dropped);
    put_u64(&out, stats.hold_ns_total);
    put_u64(&out, stats.hold_ns_max);
    pthread_mutex_lock(&config_lock);
    put_u32(&out, g_hash_table_size(exec_hooks));
    pthread_mutex_unlock(&config_lock);
    put_u64(&out, median);
    put_u64(&out, stats.notified);
    put_u64(&out, stats.filtered);
    put_u64(&out, p99);
    put_u64(&out, (uint64_t)samples);
    put_u64(&out, ring_hits);
    put_u64(&out, ring_timeouts);
    send_frame(&out);
}

static bool apply_message(uint8_t type, const uint8_t *at, const uint8_t *end);

/* Applies one message from the peer; false when it is malformed (the peer is then dropped). Counts
 * it, and wakes a vCPU held in the ring waiting for it. */
static bool handle_message(uint8_t type, const uint8_t *at, const uint8_t *end)
{
    bool ok = apply_message(type, at, end);
    __atomic_add_fetch(&handled_frames, 1, __ATOMIC_RELEASE);
    futex(&handled_frames, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL);
    return ok;
}

static bool apply_message(uint8_t type, const uint8_t *at, const uint8_t *end)
{
    uint32_t sequence;
    if (!read_u32(&at, end, &sequence)) {
        return false;
    }
    switch (type) {
    case MSG_RESUME:
        /* A held vCPU reads its own resume; one arriving here is late (after a timeout): ignore it. */
        return true;
    case MSG_SET_EXEC_HOOKS: {
        uint32_t count;
        if (!read_u32(&at, end, &count) || (uint64_t)count * 16 > (uint64_t)(end - at)) {
            return false;
        }
        GHashTable *hooks = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
        for (uint32_t i = 0; i < count; i++) {
            uint64_t *vaddr = g_new(uint64_t, 1);
            hook_config *config = g_new0(hook_config, 1);
            bool ok = read_u64(&at, end, vaddr) && read_u32(&at, end, &config->id) && end - at >= 4;
            if (ok) {
                config->flags = *at++;
                config->differ_a = *at++;
                config->differ_b = *at++;
                config->ncaptures = *at++;
                ok = config->ncaptures <= MAX_CAPTURES && config->differ_a < MAX_CAPTURES &&
                     config->differ_b < MAX_CAPTURES;
            }
            for (unsigned int c = 0; ok && c < config->ncaptures; c++) {
                capture_spec *spec = &config->captures[c];
                ok = end - at >= 2;
                if (!ok) {
                    break;
                }
                spec->register_index = *at++;
                spec->nderefs = *at++;
                ok = spec->nderefs <= MAX_DEREFS && (size_t)(end - at) >= 4u * spec->nderefs + 6;
                for (unsigned int d = 0; ok && d < spec->nderefs; d++) {
                    memcpy(&spec->derefs[d], at, 4);
                    at += 4;
                }
                if (ok) {
                    memcpy(&spec->offset, at, 4);
                    at += 4;
                    memcpy(&spec->length, at, 2);
                    at += 2;
                    ok = spec->length > 0 && spec->length <= MAX_CAPTURE_BYTES;
                }
            }
            if (!ok) {
                g_free(vaddr);
                g_free(config);
                g_hash_table_destroy(hooks);
                return false;
            }
            g_hash_table_insert(hooks, vaddr, config);
        }
        pthread_mutex_lock(&config_lock);
        if (staged_exec_hooks) {
            g_hash_table_destroy(staged_exec_hooks);
        }
        staged_exec_hooks = hooks;
        staged_exec_hooks_set = true;
        request_flush_locked(sequence);
        pthread_mutex_unlock(&config_lock);
        return true;
    }
    case MSG_SET_WATCHES: {
        uint32_t view, count;
        if (!read_u32(&at, end, &view) || view >= MAX_VIEWS || !read_u32(&at, end, &count) ||
            (uint64_t)count * 9 > (uint64_t)(end - at)) {
            return false;
        }
        pthread_mutex_lock(&config_lock);
        clear_view(&views[view]);
        for (uint32_t i = 0; i < count; i++) {
            uint64_t frame = 0;
            read_u64(&at, end, &frame);
            uint8_t access = *at++;
            if (access) {
                set_view_access(&views[view], frame, access & 15);
            }
        }
        /* Traps within what is already instrumented take effect at once; otherwise flush. */
        if (recompute_watch_union_locked()) {
            request_flush_locked(sequence);
            pthread_mutex_unlock(&config_lock);
        } else {
            pthread_mutex_unlock(&config_lock);
            send_ack(sequence);
        }
        return true;
    }
    case MSG_SWITCH_VIEW: {
        uint32_t vcpu, view;
        if (!read_u32(&at, end, &vcpu) || !read_u32(&at, end, &view) || vcpu >= MAX_VCPUS || view >= MAX_VIEWS) {
            return false;
        }
        vcpus[vcpu].view = view;
        send_ack(sequence);
        return true;
    }
    case MSG_SET_REG_TRAPS: {
        uint32_t mask;
        if (!read_u32(&at, end, &mask)) {
            return false;
        }
        pthread_mutex_lock(&config_lock);
        staged_register_traps = mask;
        staged_register_traps_set = true;
        request_flush_locked(sequence);
        pthread_mutex_unlock(&config_lock);
        return true;
    }
    case MSG_GET_STATS:
        /* An optional flag: start the hold samples afresh after this report. */
        send_stats(sequence, at < end && *at == 1);
        return true;
    case MSG_ATTACH_RING: {
        /* u16 length and a path; an empty path detaches. Acknowledged either way: Ringside reads
         * the ring's `attached` word to know whether the plugin took it. */
        uint16_t length = 0;
        if (end - at < 2) {
            return false;
        }
        memcpy(&length, at, 2);
        at += 2;
        if (end - at < length || length >= 4096) {
            return false;
        }
        detach_ring();
        if (length > 0) {
            char *path = g_strndup((const char *)at, length);
            attach_ring(path);
            g_free(path);
        }
        send_ack(sequence);
        return true;
    }
    default:
        return false;
    }
}

static void drop_peer(int fd)
{
    pthread_mutex_lock(&read_lock);
    pthread_mutex_lock(&write_lock);
    peer_fd = -1;
    close(fd);
    pthread_mutex_unlock(&write_lock);
    pthread_mutex_unlock(&read_lock);
    detach_ring();
    pthread_mutex_lock(&config_lock);
    clear_all_locked();
    pthread_mutex_unlock(&config_lock);
}

static void *peer_thread(void *unused)
{
    (void)unused;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) {
                continue;
            }
            return NULL;
        }
        if (peer_fd >= 0) {
            /* One Ringside at a time: refuse a second peer. */
            close(fd);
            continue;
        }
        pthread_mutex_lock(&write_lock);
        __atomic_store_n(&handled_frames, 0, __ATOMIC_RELEASE); /* the new peer counts from zero */
        peer_fd = fd;
        pthread_mutex_unlock(&write_lock);
        send_hello();
        for (;;) {
            struct pollfd pending = {.fd = fd, .events = POLLIN};
            if (poll(&pending, 1, 100) <= 0) {
                continue;
            }
            /* A held vCPU may be reading; wait for it, then check that data is still there. */
            pthread_mutex_lock(&read_lock);
            pending.revents = 0;
            if (poll(&pending, 1, 0) <= 0) {
                pthread_mutex_unlock(&read_lock);
                continue;
            }
            uint8_t *frame;
            uint32_t length;
            bool ok = read_frame(fd, &frame, &length);
            pthread_mutex_unlock(&read_lock);
            if (!ok) {
                break;
            }
            ok = handle_message(frame[0], frame + 1, frame + length);
            g_free(frame);
            if (!ok) {
                break;
            }
        }
        drop_peer(fd);
    }
    return NULL;
}

/* ------------------------------------------------------------------ set-up */

/* Finds where QEMU mapped the RAM backing file, to turn code pointers into guest-physical frames. */
static void find_ram_mapping(void)
{
    if (!ram_path) {
        return;
    }
    struct stat info;
    if (stat(ram_path, &info) == 0) {
        ram_size = (uint64_t)info.st_size;
    }
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) {
        return;
    }
    char line[4096];
    while (fgets(line, sizeof(line), maps)) {
        unsigned long start, end, offset;
        char path[4096] = {0};
        if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %4095[^\n]", &start, &end, &offset, path) == 4 && offset == 0 &&
            strcmp(path, ram_path) == 0) {
            ram_host_base = start;
            break;
        }
    }
    fclose(maps);
}

static void at_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    if (listen_fd >= 0) {
        close(listen_fd);
        unlink(socket_path);
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (!info->system_emulation) {
        fprintf(stderr, "ringside: the plugin needs full-system emulation\n");
        return -1;
    }
    plugin_id = id;
    if (strcmp(info->target_name, "aarch64") == 0) {
        register_names = AARCH64_REGISTERS;
        register_count = sizeof(AARCH64_REGISTERS) / sizeof(AARCH64_REGISTERS[0]);
        target_x86 = false;
    } else if (strcmp(info->target_name, "x86_64") != 0) {
        fprintf(stderr, "ringside: unsupported target %s (x86_64 and aarch64 are)\n", info->target_name);
        return -1;
    }
    for (int i = 0; i < argc; i++) {
        char *value = strchr(argv[i], '=');
        if (!value) {
            fprintf(stderr, "ringside: argument without a value: %s\n", argv[i]);
            return -1;
        }
        *value++ = '\0';
        if (strcmp(argv[i], "socket") == 0) {
            socket_path = g_strdup(value);
        } else if (strcmp(argv[i], "ram") == 0) {
            ram_path = g_strdup(value);
        } else if (strcmp(argv[i], "lowmem") == 0) {
            lowmem = strtoull(value, NULL, 0);
        } else if (strcmp(argv[i], "ram_base") == 0) {
            ram_base = strtoull(value, NULL, 0);
        } else if (strcmp(argv[i], "timeout_ms") == 0) {
            timeout_ms = atoi(value);
        } else {
            fprintf(stderr, "ringside: unknown argument %s\n", argv[i]);
            return -1;
        }
    }
    if (!socket_path) {
        fprintf(stderr, "ringside: socket=PATH is required\n");
        return -1;
    }
    find_ram_mapping();
    if (!lowmem) {
        lowmem = ram_size >= 0xb0000000ull ? 0x80000000ull : ram_size;
    }
    frame_limit = ram_base ? (ram_base + ram_size) >> 12 : (lowmem ? lowmem : (4ull << 30)) >> 12;
    exec_hooks = g_hash_table_new(g_int64_hash, g_int64_equal);
    exec_frames = g_hash_table_new(g_direct_hash, g_direct_equal);
    pending_acks = g_array_new(FALSE, FALSE, sizeof(uint32_t));

    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (listen_fd < 0 || strlen(socket_path) >= sizeof(address.sun_path)) {
        fprintf(stderr, "ringside: cannot create socket %s\n", socket_path);
        return -1;
    }
    strcpy(address.sun_path, socket_path);
    unlink(socket_path);
    if (bind(listen_fd, (struct sockaddr *)&address, sizeof(address)) < 0 || listen(listen_fd, 1) < 0) {
        fprintf(stderr, "ringside: cannot listen on %s: %s\n", socket_path, strerror(errno));
        return -1;
    }
    pthread_t thread;
    pthread_create(&thread, NULL, peer_thread, NULL);
    pthread_detach(thread);

    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
