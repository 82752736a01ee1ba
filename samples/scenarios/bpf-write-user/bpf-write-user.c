// bpf-write-user: loads a raw-tracepoint eBPF program that calls bpf_probe_write_user (the helper
// eBPF rootkits use to rewrite what system calls return to user space) and attaches it to
// sys_enter, then sleeps holding it. Part of Ringside's attack scenarios; sample guest only.
//
// The program writes 8 bytes to user address 0, which always fails: it tampers with nothing, but
// the verifier, the loader and a memory snapshot see exactly what a real one would have.
// Usage: bpf-write-user SECONDS
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static long bpf(int command, union bpf_attr *attr) {
  return syscall(__NR_bpf, command, attr, sizeof(*attr));
}

int main(int argc, char **argv) {
  unsigned seconds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 600;
  struct bpf_insn program[] = {
      INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_6, 0, 0, 0),       // r6 = 0
      INSN(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_6, -8, 0), // *(u64 *)(r10 - 8) = r6
      INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 0),       // r1 = 0 (dst: user address 0)
      INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0), // r2 = r10
      INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8),      // r2 -= 8 (src: the zeroes)
      INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 8),       // r3 = 8
      INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_probe_write_user),
      INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0),       // return 0
      INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  static char log[65536];
  union bpf_attr load;
  memset(&load, 0, sizeof(load));
  load.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
  load.insns = (uint64_t)(uintptr_t)program;
  load.insn_cnt = sizeof(program) / sizeof(program[0]);
  load.license = (uint64_t)(uintptr_t) "GPL";
  load.log_buf = (uint64_t)(uintptr_t)log;
  load.log_size = sizeof(log);
  load.log_level = 1;
  strncpy(load.prog_name, "rk_write_user", sizeof(load.prog_name) - 1);
  long prog = bpf(BPF_PROG_LOAD, &load);
  if (prog < 0) {
    perror("BPF_PROG_LOAD");
    fprintf(stderr, "%s\n", log);
    return 1;
  }
  union bpf_attr attach;
  memset(&attach, 0, sizeof(attach));
  attach.raw_tracepoint.name = (uint64_t)(uintptr_t) "sys_enter";
  attach.raw_tracepoint.prog_fd = (uint32_t)prog;
  if (bpf(BPF_RAW_TRACEPOINT_OPEN, &attach) < 0) {
    perror("BPF_RAW_TRACEPOINT_OPEN");
    return 1;
  }
  printf("loaded rk_write_user, attached to raw tracepoint sys_enter\n");
  fflush(stdout);
  sleep(seconds);
  return 0;
}
