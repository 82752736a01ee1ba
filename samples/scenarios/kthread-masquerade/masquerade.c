// SPDX-License-Identifier: GPL-2.0
/*
 * masquerade: a user process dressed as a kernel thread, as coin miners and backdoors hide in `ps`:
 * its name (comm, prctl PR_SET_NAME) becomes "kworker/0:2H" and its command line "[kworker/0:2H]",
 * which is how ps prints a kernel thread. It then sleeps for the given seconds. It still has an
 * address space and no PF_KTHREAD, which no kernel thread lacks. For the throw-away sample guest
 * only; built statically by the scenarios' build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define NAME "kworker/0:2H"

int main(int argc, char **argv)
{
	unsigned int seconds = argc > 1 ? (unsigned int)atoi(argv[1]) : 600;
	char *start = argv[0];
	char *end = argv[argc - 1] + strlen(argv[argc - 1]);

	if (prctl(PR_SET_NAME, NAME, 0, 0, 0) < 0) {
		perror("masquerade: prctl");
		return 1;
	}
	/* /proc/PID/cmdline: "[kworker/0:2H]" and nothing after it. */
	memset(start, 0, (size_t)(end - start));
	if ((size_t)(end - start) > sizeof("[" NAME "]"))
		memcpy(start, "[" NAME "]", sizeof("[" NAME "]"));
	sleep(seconds);
	return 0;
}
