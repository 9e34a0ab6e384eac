/* The syscall table and the helpers handlers share. A handler is `sys_<name>` in the file of its
 * family; it returns what the guest sees (a value or -errno). */
#ifndef RUNSC_SENTRY_SYSCALLS_SYSCALLS_H
#define RUNSC_SENTRY_SYSCALLS_SYSCALLS_H

#include <stdint.h>

#include "sentry/kernel/kernel.h"

struct syscall_args {
    uint64_t a[6];
};

typedef long (*syscall_handler)(struct task *t, const struct syscall_args *args);

struct syscall_entry {
    const char *name;
    syscall_handler handler; /* NULL: not implemented (ENOSYS) */
    const char *format;      /* strace argument format, see strace.c */
};

/* Generated from arch/<arch>/syscalls.tbl and syscalls.list. */
extern const struct syscall_entry syscall_table[];
extern const unsigned syscall_table_size;

/* A handler's return value meaning "the registers are already what the guest must see"
 * (rt_sigreturn); outside the -errno range so it can't be confused with an error. */
#define SYSCALL_KEEP_REGS (-0x10000L)

/* Path arguments: the walk context of a *at() syscall. `start` is the cwd (AT_FDCWD) or the
 * directory open at `dirfd`; absolute paths ignore dirfd, as Linux does. */
struct at_ctx {
    struct vfs_cred cred;
    struct walk_ctx walk;
    struct file *dir_file; /* the dirfd's file, a reference, or NULL */
    struct vfs_path cwd;   /* a reference, or empty */
};

/* Copies a guest path (PATH_MAX with its NUL) into buf: its length or -EFAULT/-ENAMETOOLONG. */
long path_copy_in(struct task *t, uint64_t addr, char *buf);
/* Sets up *c for resolving `path` relative to dirfd: 0, -EBADF, -ENOTDIR. With AT_EMPTY_PATH
 * semantics (`empty_ok`), a non-directory dirfd is allowed for the empty path. */
int at_ctx_begin(struct task *t, int dirfd, const char *path, bool empty_ok, struct at_ctx *c);
void at_ctx_end(struct at_ctx *c);
/* The task's credentials as the VFS checks them. */
void task_vfs_cred(struct task *t, struct vfs_cred *out);
/* The file open at `fd` (a reference) or NULL. */
struct file *task_get_file(struct task *t, uint64_t fd);
/* Installs a new file at the lowest free fd and drops the caller's reference to it (for the
 * calls that make anonymous files): the fd, or -EMFILE. */
long task_install_file(struct task *t, struct file *f, bool cloexec);

/* Copies in and checks a guest iovec array as Linux's import_iovec() does (lengths truncated
 * to MAX_RW_COUNT in all): 0 or -errno; *out is malloc'd. */
struct iovec;
long import_iovec(struct task *t, uint64_t addr, uint64_t count, struct iovec **out);
/* read(2)/write(2)/readv/writev on a socket: recvmsg/sendmsg without a name or control data
 * (socket_msg.c). */
struct socket;
long socket_transfer(struct task *t, struct socket *s, const struct iovec *iov, size_t n,
                     bool write);

/* seccomp(2)'s operations, for sys_seccomp and prctl(PR_SET_SECCOMP) (seccomp.c). */
long seccomp_do(struct task *t, unsigned op, unsigned flags, uint64_t uargs);

/* Runs the syscall the task stopped on and writes its result into the task's registers. */
void syscall_dispatch(struct task *t);
/* Whether --strace is on, and turning it on. */
void syscall_set_strace(bool on);

#endif
