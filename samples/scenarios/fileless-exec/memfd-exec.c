// SPDX-License-Identifier: GPL-2.0
/*
 * memfd-exec: fileless execution, as in-memory droppers do it. Copies a program (argv[1]) into an
 * anonymous memory file (memfd_create) and executes that (fexecve: execveat with AT_EMPTY_PATH), with
 * the rest of the arguments as the new program's argv. Nothing runs from a file on any disk: the
 * process's executable is "/memfd:payload (deleted)". For the throw-away sample guest only.
 * Built statically by the scenarios' build (gcc -static), so it needs nothing in the guest.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	char buffer[65536];
	ssize_t got;
	int source, memory;

	if (argc < 3) {
		fprintf(stderr, "usage: memfd-exec PROGRAM ARGV0 [ARG...]\n");
		return 2;
	}
	source = open(argv[1], O_RDONLY);
	memory = memfd_create("payload", 0);
	if (source < 0 || memory < 0) {
		perror("memfd-exec");
		return 1;
	}
	while ((got = read(source, buffer, sizeof(buffer))) > 0) {
		if (write(memory, buffer, (size_t)got) != got) {
			perror("memfd-exec: write");
			return 1;
		}
	}
	close(source);
	fexecve(memory, argv + 2, environ);
	perror("memfd-exec: fexecve");
	return 1;
}
