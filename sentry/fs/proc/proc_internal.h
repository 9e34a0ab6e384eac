/* Private to sentry/fs/proc: the filesystem's state, snapshots of a task's state, and the
 * generators (exposed for unit tests, which check their formats against Linux's). */
#ifndef RUNSC_SENTRY_FS_PROC_PROC_INTERNAL_H
#define RUNSC_SENTRY_FS_PROC_PROC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#include "sentry/fs/kernfs/kernfs.h"
#include "sentry/kernel/kernel.h"
#include "sentry/mm/mm.h"

struct procfs {
    struct kernel *kernel;
    char boot_id[37]; /* /proc/sys/kernel/random/boot_id, fixed at creation */
};

/* statfs f_type of proc (PROC_SUPER_MAGIC). */
#define PROC_SUPER_MAGIC_VALUE 0x9fa0
/* A random RFC 4122 version 4 UUID as text. */
void proc_make_uuid(char out[37]);

/* Linux's USER_HZ: clock ticks in /proc/PID/stat and /proc/stat. */
#define PROC_CLK_TCK 100
/* CAP_LAST_CAP of the Linux release we present (6.1: CAP_CHECKPOINT_RESTORE). */
#define PROC_CAP_LAST_CAP 40

/* What to take references to in a task snapshot. */
enum {
    PROC_TASK_MM = 1 << 0,
    PROC_TASK_FDS = 1 << 1,
    PROC_TASK_FS = 1 << 2,
    PROC_TASK_EXE = 1 << 3,
};

/* A consistent copy of what /proc shows of one task (taken under kernel.lock and tg->lock),
 * with references the caller drops with proc_task_put. */
struct proc_task {
    int tgid, tid, ppid, pgid, sid;
    char comm[16];
    char state; /* 'R' (the reader itself), 'S', 'Z' */
    bool leader;
    struct creds creds;
    mode_t umask;
    int threads;
    uint64_t shared_pending; /* the process's (ShdPnd) */
    uint64_t pending, blocked, ignored, caught;
    struct rlimit rlimits[RLIM_NLIMITS];
    int exit_signal; /* -1 for threads other than the leader */
    int exit_code;   /* wait status once a zombie, else 0 */
    int oom_score_adj;
    bool no_new_privs;
    int seccomp_mode, seccomp_filters;
    uint64_t start_ticks; /* since boot */
    struct mm *mm;        /* references, or NULL: see the PROC_TASK_* asked for */
    struct fdtable *fds;
    struct fs_context *fs;
    struct vfs_path exe;
};

/* Fills *out for the task `tid` of process `tgid` (tid 0: the process's leader). -ESRCH if
 * there is none. */
int proc_task_get(struct kernel *k, int tgid, int tid, unsigned refs, struct proc_task *out);
void proc_task_put(struct proc_task *pt);
/* The task of a /proc node (pid, tid of the node). */
int proc_node_task(const struct kernfs_node *n, unsigned refs, struct proc_task *out);

/* Number of CPUs the sandbox presents (the sandbox process's affinity). */
unsigned proc_ncpus(void);
/* Linux's bitmap formats (%*pb and %*pbl) for the first `n` bits set. */
void proc_put_cpu_mask(struct kernfs_buf *b, unsigned nbits, unsigned nset);
void proc_put_cpu_list(struct kernfs_buf *b, unsigned n);
/* Writes s with the characters of `esc` as \ooo octal escapes (Linux's mangle / seq_escape). */
void proc_put_escaped(struct kernfs_buf *b, const char *s, const char *esc);
/* Parses a decimal number as /proc's directory names are written (no sign, no leading zero). */
int proc_parse_id(const char *name, int *out);

/* Per-process generators (proc_pid.c). */
void proc_format_status(struct kernfs_buf *b, const struct proc_task *pt,
                        const struct mm_stats *ms, const struct mm_proc_ranges *mr, int fdsize,
                        unsigned ncpus);
void proc_format_stat(struct kernfs_buf *b, const struct proc_task *pt,
                      const struct mm_stats *ms, const struct mm_proc_ranges *mr);
void proc_format_statm(struct kernfs_buf *b, const struct mm_stats *ms,
                       const struct mm_proc_ranges *mr);
void proc_format_limits(struct kernfs_buf *b, const struct rlimit *lim);

/* Address-space generators (proc_mem.c). */
void proc_format_maps_line(struct kernfs_buf *b, uint64_t start, uint64_t end, int prot,
                           bool shared, uint64_t off, dev_t dev, uint64_t ino, const char *name);
int proc_gen_maps(const struct kernfs_node *n, struct kernfs_buf *b);
int proc_gen_smaps_rollup(const struct kernfs_node *n, struct kernfs_buf *b);
int proc_gen_cmdline(const struct kernfs_node *n, struct kernfs_buf *b);
int proc_gen_environ(const struct kernfs_node *n, struct kernfs_buf *b);
int proc_gen_auxv(const struct kernfs_node *n, struct kernfs_buf *b);

/* Files, paths and mounts (proc_files.c). */
int proc_fd_lookup(const struct kernfs_node *dir, const char *name, struct kernfs_node *out);
int proc_fdinfo_lookup(const struct kernfs_node *dir, const char *name, struct kernfs_node *out);
int proc_fd_readdir(const struct kernfs_node *dir, struct dir_list *out);
int proc_readlink_exe(const struct kernfs_node *n, struct kernfs_buf *b);
int proc_get_link_exe(const struct kernfs_node *n, struct vfs_path *out);
int proc_readlink_cwd(const struct kernfs_node *n, struct kernfs_buf *b);
int proc_get_link_cwd(const struct kernfs_node *n, struct vfs_path *out);
int proc_readlink_root(const struct kernfs_node *n, struct kernfs_buf *b);
int proc_get_link_root(const struct kernfs_node *n, struct vfs_path *out);
int proc_gen_mounts(const struct kernfs_node *n, struct kernfs_buf *b);
int proc_gen_mountinfo(const struct kernfs_node *n, struct kernfs_buf *b);

/* The per-process directory entries (proc_pid.c), shared by /proc/PID and /proc/PID/task/TID. */
extern const struct kernfs_entry proc_pid_dir, proc_tid_dir;
extern const struct kernfs_scope proc_task_scope;

/* Global files and /proc/sys (proc_global.c). */
extern const struct kernfs_entry proc_global_entries[];
/* /proc/sys's directories (proc_sys.c). */
extern const struct kernfs_entry proc_sys_entries[];

#endif
