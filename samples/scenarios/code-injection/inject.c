// SPDX-License-Identifier: GPL-2.0
/*
 * inject: code injection into another process, as injectors (linux-inject, ptrace droppers) do it.
 * Attaches to PID with ptrace, makes it call mmap(PROT_READ|PROT_WRITE|PROT_EXEC, MAP_ANONYMOUS)
 * by planting `syscall; int3` at its instruction pointer, writes a payload into the new anonymous
 * writable+executable mapping, then puts the original bytes and registers back and detaches: the
 * process runs on, now holding code no file backs. The payload is never run. x86-64 only. For the
 * throw-away sample guest only; built statically by the scenarios' build.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>

#ifdef __x86_64__
static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(int argc, char **argv)
{
	/* The payload: a NOP sled and `jmp $` (what a loader would put first). */
	static const unsigned char payload[16] = { 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
						   0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xeb, 0xfe };
	struct user_regs_struct saved, regs;
	unsigned long original, patched, address;
	pid_t pid;
	int status;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: inject PID\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[1]);
	if (ptrace(PTRACE_ATTACH, pid, 0, 0) < 0)
		return fail("inject: attach");
	if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status))
		return fail("inject: wait");
	if (ptrace(PTRACE_GETREGS, pid, 0, &saved) < 0)
		return fail("inject: getregs");
	errno = 0;
	original = (unsigned long)ptrace(PTRACE_PEEKTEXT, pid, (void *)saved.rip, 0);
	if (errno)
		return fail("inject: peek");
	/* syscall (0f 05); int3 (cc): the rest of the word unchanged. */
	patched = (original & ~0xffffffUL) | 0xcc050fUL;
	if (ptrace(PTRACE_POKETEXT, pid, (void *)saved.rip, (void *)patched) < 0)
		return fail("inject: poke");
	regs = saved;
	regs.orig_rax = -1; /* not inside a system call: no restart */
	regs.rax = SYS_mmap;
	regs.rdi = 0;
	regs.rsi = 4096;
	regs.rdx = PROT_READ | PROT_WRITE | PROT_EXEC;
	regs.r10 = MAP_PRIVATE | MAP_ANONYMOUS;
	regs.r8 = (unsigned long)-1;
	regs.r9 = 0;
	if (ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0 || ptrace(PTRACE_CONT, pid, 0, 0) < 0)
		return fail("inject: run mmap");
	if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP)
		return fail("inject: wait for mmap");
	if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
		return fail("inject: getregs after mmap");
	address = regs.rax;
	if (address > -4096UL) {
		fprintf(stderr, "inject: mmap in %d failed: %ld\n", pid, (long)address);
		return 1;
	}
	for (i = 0; i < sizeof(payload); i += sizeof(long)) {
		unsigned long word;

		memcpy(&word, payload + i, sizeof(word));
		if (ptrace(PTRACE_POKEDATA, pid, (void *)(address + i), (void *)word) < 0)
			return fail("inject: write payload");
	}
	if (ptrace(PTRACE_POKETEXT, pid, (void *)saved.rip, (void *)original) < 0 ||
	    ptrace(PTRACE_SETREGS, pid, 0, &saved) < 0 || ptrace(PTRACE_DETACH, pid, 0, 0) < 0)
		return fail("inject: restore");
	printf("injected %zu bytes into pid %d at 0x%lx (rwx, anonymous)\n", sizeof(payload), pid,
	       address);
	return 0;
}
#else
int main(void)
{
	fprintf(stderr, "inject: x86-64 only\n");
	return 1;
}
#endif
