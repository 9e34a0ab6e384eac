/* The kernel: tasks (guest threads), thread groups (processes), their credentials, limits and
 * signal state, and the run loop that moves each task between guest code and the sentry.
 *
 * Each task runs on its own sentry pthread, which is also the platform context's host thread
 * (for ptrace, the tracer of the task's stub thread). Lock order: kernel.lock, then
 * thread_group.lock, then waitqueue.lock, then task.wait_lock; mm and fd table locks are never
 * taken while holding any of them. */
#ifndef RUNSC_SENTRY_KERNEL_KERNEL_H
#define RUNSC_SENTRY_KERNEL_KERNEL_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <linux/filter.h>
#include <time.h>

#include "regs.h"
#include "sentry/kernel/waitqueue.h"
#include "sentry/userns/userns.h"
#include "sentry/sysctl/sysctl.h"
#include "sentry/vfs/vfs.h"

struct memfile;
struct vdso;
struct mm;
struct mappable;
struct platform;
struct platform_ctx;
struct fdtable;
struct task;
struct sem_undo_list;
struct seccomp_filter;
struct kernel_container;

#define KERNEL_NSIG 64
/* The guest's sigset_t as syscalls pass it: one bit per signal, signal N at bit N-1. */
#define KERNEL_SIGSET_SIZE 8
#define SIGBIT(sig) (1ULL << ((sig)-1))
/* SIGKILL and SIGSTOP can be neither caught, blocked nor ignored. */
#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))

/* Linux's internal restart codes: a blocking syscall interrupted by a signal returns one, and
 * signal delivery turns it into EINTR or a restart of the call (signal(7), "Interruption of
 * system calls"). The guest never sees them. */
#define ERESTARTSYS 512           /* restart if the handler has SA_RESTART, else EINTR */
#define ERESTARTNOINTR 513        /* always restart */
#define ERESTARTNOHAND 514        /* restart only if no handler runs */
#define ERESTART_RESTARTBLOCK 516 /* as ERESTARTNOHAND */

/* The guest's struct sigaction as rt_sigaction(2) passes it (the kernel's layout). */
struct k_sigaction {
    uint64_t handler;
    uint64_t flags;
    uint64_t restorer;
    uint64_t mask;
};

/* Supplementary groups kept inline so credentials copy by value; Linux allows NGROUPS_MAX
 * (65536), the sentry this many (setgroups beyond it is EINVAL). */
#define CREDS_MAX_GROUPS 64

struct creds {
    uid_t ruid, euid, suid, fsuid;
    gid_t rgid, egid, sgid, fsgid;
    int ngroups;
    gid_t groups[CREDS_MAX_GROUPS];
    /* capabilities(7)'s five sets, as masks of 1 << CAP_*: only bits up to CAP_LAST_CAP. */
    uint64_t cap_effective, cap_permitted, cap_inheritable, cap_bounding, cap_ambient;
};

/* Every capability of the release the sentry presents (CAP_LAST_CAP: 40). */
#define CREDS_CAP_LAST 40
#define CREDS_CAP_ALL ((1ULL << (CREDS_CAP_LAST + 1)) - 1)
#define CREDS_CAP_BIT(cap) (1ULL << (cap))

/* Real-time signals queue: each further instance of a pending one (signal number past
 * KERNEL_SIGRTMIN) waits here, in order, behind the one in the pending set. */
#define KERNEL_SIGRTMIN 32
struct sigq_extra {
    int sig;
    siginfo_t info;
    struct sigq_extra *next;
};
struct sigq_list {
    struct sigq_extra *head, *tail;
    unsigned count;
};

struct thread_group {
    struct kernel *kernel;
    int tgid; /* in the sandbox's pid namespace */
    struct task *leader;
    /* The live tasks and the leader (live or ended), via group_next; tg->lock. */
    struct task *tasks;
    /* Ended tasks other than the leader, moved here from `tasks` by task_release and freed
     * with the group: others may still hold pointers to them (and check `released`), but
     * lookups by tid and pid allocation walk only `tasks`, not every thread ever run. */
    struct task *ended;

    /* The process tree, guarded by kernel.lock. */
    struct thread_group *parent; /* NULL for init */
    struct thread_group *children;
    struct thread_group *sibling; /* next child of parent */
    struct thread_group *next;    /* in kernel.groups */
    int pgid, sid;
    bool ctty_detached;            /* gave up its session's terminal (TIOCNOTTY, not a leader) */
    int exit_signal;               /* sent to the parent at exit: SIGCHLD, or none for 0 */
    bool zombie;                   /* exited and not yet reaped */
    bool vfork_done;               /* the vfork child exited: its parent may go on */
    int64_t itimer_next_ns;        /* ITIMER_REAL's next expiry (CLOCK_MONOTONIC ns), 0: off */
    int64_t itimer_interval_ns;    /* and its period, 0: one-shot */
    struct waitqueue child_events; /* wait4 and vfork sleep here for children's changes */

    unsigned container;   /* the pod container it belongs to (0: the root one); fixed at creation,
                             inherited by fork */
    bool is_init;         /* pid 1 of the sandbox's pid namespace */
    bool unkillable;      /* Linux's SIGNAL_UNKILLABLE: init until a fault is forced */
    pthread_mutex_t lock; /* protects everything below and tasks' signal state */
    struct k_sigaction actions[KERNEL_NSIG + 1];
    /* Signals sent to the process as a whole (kill, SIGCHLD...): any thread that doesn't block
     * one takes it, as Linux's shared pending queue. */
    uint64_t shared_pending;
    siginfo_t shared_info[KERNEL_NSIG + 1];
    struct sigq_list shared_extra;
    struct rlimit rlimits[RLIM_NLIMITS];
    bool exiting;    /* exit_group or a fatal signal started */
    int exit_status; /* wait(2) status once exiting */
    int live_tasks;
    struct vfs_path exe;    /* the executable (for /proc/PID/exe); a reference; tg->lock */
    struct task *exec_task; /* a thread in execve killing the others (tg->lock) */
    uint64_t serial; /* unique among every group the kernel made: pidfds name a process by it;
                        immutable */
    /* CPU time (ns) of threads that have ended, and of reaped children with their own reaped
     * children (getrusage's RUSAGE_CHILDREN); tg->lock. children_maxrss_kb: the largest
     * resident size, in KiB, of this process at its end and of its reaped descendants. */
    uint64_t ended_utime, ended_stime;
    uint64_t children_utime, children_stime;
    long children_maxrss_kb;
    int oom_score_adj;    /* /proc/PID/oom_score_adj, -1000..1000; only stored */
    int dumpable;         /* PR_SET_DUMPABLE: 0 or 1; tg->lock */
    bool child_subreaper; /* PR_SET_CHILD_SUBREAPER: orphaned descendants come here; kernel.lock */
    int membarrier_registered; /* MEMBARRIER_CMD_REGISTER_* commands done (bit = command) */
    /* Job control (jobctl.c), tg->lock: a group stop in force holds every task of the process
     * in the sentry until SIGCONT or SIGKILL. */
    bool stopped;
    int stop_signal;       /* the signal that stopped it, for wait's status */
    int wait_report;       /* enum jobctl_report: what WUNTRACED / WCONTINUED may still see */
    bool notify_continued; /* a task woken by SIGCONT owes the parent its CLD_CONTINUED */
    /* POSIX timers and the CPU-time interval timers (posix_timer.c). timers_lock protects the
     * list, the id counter and every timer's state; it comes before tg->lock. */
    pthread_mutex_t timers_lock;
    struct posix_timer *timers; /* timer_create(2)'s, by id */
    int next_timer_id;          /* Linux's next_posix_timer_id: ids count up from 0 */
    int ntimers;
    struct posix_timer *itimer_cpu[2]; /* ITIMER_VIRTUAL and ITIMER_PROF, NULL until set */
};

/* A stop or continue that wait(2) has not reported yet (thread_group.wait_report). */
enum jobctl_report { JOBCTL_REPORT_NONE, JOBCTL_REPORT_STOPPED, JOBCTL_REPORT_CONTINUED };

struct task {
    struct kernel *kernel;
    struct thread_group *tg;
    struct task *group_next; /* in tg->tasks or tg->ended, guarded by tg->lock */
    bool released;           /* its thread is done (tg->lock) */
    int tid;
    struct mm *mm;            /* owned; set to NULL under tg->lock at release */
    struct fdtable *fds;      /* owned; set to NULL under tg->lock at release */
    struct platform_ctx *ctx; /* owned; switched only by the task's own thread; other threads
                                 may interrupt it under wait_lock, and it is released (and
                                 set NULL) under wait_lock */
    struct arch_regs regs;    /* the guest registers while the task is in the sentry */
    struct creds creds;
    char comm[16]; /* written through task_set_comm: by its own thread, or under tg->lock */
    /* How many times comm changed (relaxed: the writer stores comm first and, when it is not the
     * task's own thread, under tg->lock, under which the task reads comm again); and the count
     * its host thread was last named at (own thread only): task_run renames the stub thread
     * when they differ, so the host's ps shows the guest's name. */
    _Atomic unsigned comm_gen;
    unsigned comm_gen_host;
    /* prctl(2) state, own thread only except pdeath_signal (read by the exiting parent under
     * kernel.lock, set by its own thread: an int store) . */
    int pdeath_signal;       /* PR_SET_PDEATHSIG: sent when the parent exits, 0: none */
    bool no_new_privs;       /* PR_SET_NO_NEW_PRIVS: sticky, inherited */
    bool keepcaps;           /* PR_SET_KEEPCAPS */
    uint64_t timer_slack_ns; /* PR_SET_TIMERSLACK: stored only */
    int sched_policy;        /* sched_setscheduler(2): SCHED_OTHER/BATCH/IDLE, own thread */
    cpu_set_t affinity;      /* sched_setaffinity(2); empty: all the sandbox's CPUs */
    int nice;                /* setpriority(2): -20..19; stored, not yet used by any scheduler */
    /* seccomp(2): the newest filter of the task's stack (a reference; each filter holds the one
     * before it), seccomp_strict_mode for SECCOMP_MODE_STRICT, or NULL. Written under tg->lock
     * with release order (by the task, by a sibling's TSYNC, or by fork before the task runs);
     * read by the task's own syscall entry without a lock (acquire: the filter's contents are
     * visible with the pointer). A replaced filter stays alive as an ancestor of its
     * replacement, so the task may go on using the one it loaded. */
    struct seccomp_filter *_Atomic seccomp;
    pid_t host_tid; /* the sentry thread running the task: its CPU time is the system time */
    /* That thread's CPU time when it took the task up: pooled threads serve task after task.
     * Written before host_tid, by the task's own thread. */
    uint64_t host_cpu_base_ns;
    uint64_t map_gen_at_entry; /* mm_map_generation() when it last entered the guest */
    _Atomic uint64_t guest_ns; /* time spent running guest code (in platform_ctx_switch); its
                                  own thread adds, others read (relaxed: a statistic) */
    /* CLOCK_MONOTONIC ns at which the task last entered guest code, 0 while it is in the sentry:
     * readers add the time of a switch still running (CPU timers of a guest that never leaves
     * its loop). Own thread stores, others load (relaxed: a statistic, as guest_ns). */
    _Atomic int64_t guest_entered_ns;
    struct fs_context *fs; /* root, cwd, umask, mount namespace (shared by CLONE_FS); owned ref,
                              set to NULL under tg->lock at release */
    uint64_t altstack_sp, altstack_size; /* sigaltstack(2); own thread only */
    int altstack_flags;
    uint64_t clear_child_tid;
    uint64_t robust_list, robust_list_len;
    struct sem_undo_list *sem_undo; /* SEM_UNDO adjustments (sentry/ipc), shared by
                                       CLONE_SYSVSEM; its own thread, or its creator before it
                                       runs */

    /* Signal state, protected by tg->lock. */
    uint64_t blocked;
    uint64_t real_blocked; /* rt_sigtimedwait's mask from before it unblocked the awaited
                              signals: they are still kept, not ignored (Linux's real_blocked) */
    uint64_t pending;
    siginfo_t pending_info[KERNEL_NSIG + 1];
    struct sigq_list pending_extra;

    /* Blocking in the sentry: the task waits on `wake` until `woken` is set, by a wait queue it
     * registered on or by a signal (task_interrupt). wait_lock also guards ctx against release
     * while another thread interrupts it. */
    pthread_mutex_t wait_lock;
    pthread_cond_t wake;
    bool woken;    /* guarded by wait_lock */
    bool sleeping; /* in task_block (wait_lock): a safe point for kernel_pause */
    /* task_block sleeps on this word with a host FUTEX_WAIT outside wait_lock, so a woken task
     * does not wake only to block on wait_lock still held by its waker (a condvar would). Bumped
     * under wait_lock by every wake of a sleeping task; read atomically by the sleeper. */
    _Atomic uint32_t wake_seq;
    bool parked; /* held by kernel_pause at its safe point in the run loop (wait_lock) */

    bool exiting; /* set and read only by the task's own thread */
    long restart; /* the -ERESTART* code the last syscall returned, or 0 */
    /* rt_sigsuspend's temporary mask: the mask to go back to once a signal was handled (the
     * handler's frame carries it) or found nothing to do. Own thread only. */
    bool restore_mask;
    uint64_t saved_mask;
    pthread_t thread; /* init's thread only (joined); others run on pooled threads */
    struct timespec start_time; /* CLOCK_MONOTONIC at creation, for /proc/PID/stat; fixed */
};

/* An OCI process's five capability sets (CAP_* bit masks). */
struct init_caps {
    uint64_t effective, permitted, inheritable, bounding, ambient;
};

/* What the boot process hands the kernel for the first process. */
struct init_process {
    const char *path; /* the executable, walked in fs; also AT_EXECFN */
    char *const *argv;
    char *const *envp;
    const char *cwd;       /* walked in fs: the working directory */
    struct fs_context *fs; /* root, mounts and umask; a reference the kernel takes over */
    int stdio_fds[3];      /* host fds that become fds 0, 1, 2; the kernel owns them; -1: none */
    struct file *stdio_files[3]; /* sentry files that become fds 0, 1, 2 instead (the sandbox's
                                    console); the kernel takes its own references */
    /* The container's seccomp filter (OCI linux.seccomp), installed on init before its first
     * instruction; the kernel takes the reference over (also on failure). NULL: none. */
    struct seccomp_filter *seccomp;
    /* An OCI process's settings (container mode); zero values keep the defaults (runsc's own
     * rlimits, every capability in the bounding set, oom_score_adj 0). */
    const struct init_rlimit *rlimits;
    size_t n_rlimits;
    bool no_new_privs;
    bool has_caps;
    struct init_caps caps; /* OCI process.capabilities; without them uid 0 gets every one */
    int oom_score_adj;
};

/* One of init's resource limits (RLIMIT_* below RLIM_NLIMITS). */
struct init_rlimit {
    int resource;
    struct rlimit limit;
};

struct kernel_config {
    struct platform *platform;
    struct memfile *memfile;
    void (*syscall_dispatch)(struct task *t); /* the syscall table, from sentry/syscalls */
    const char *hostname;
    const char *domainname; /* uname's; NULL: "(none)" */
    uid_t uid;
    gid_t gid;
    const gid_t *groups; /* the first process's supplementary groups */
    int ngroups;
    /* linux.resources.pids.limit: live tasks (threads) the sandbox may hold, as the pids cgroup
     * counts them; 0 or anything above KERNEL_MAX_TASKS: KERNEL_MAX_TASKS. */
    int max_tasks;
    /* linux.uidMappings/gidMappings: the guest's ids to the host's, for files served by the
     * gofer and for which ids exist at all (sentry/userns). Empty: the identity map. */
    struct userns_map uid_map, gid_map;
};

/* The OOM killer of the memory limit (oom.c): allocating contexts ask for a round and wait for
 * it; its own thread, which holds no other lock, reads the processes' resident sizes (mm locks)
 * and kills. */
struct kernel_oom {
    /* `lock` protects every field below. Taken by allocating contexts that may hold fs locks;
     * nothing is taken while it is held. */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a round is asked for, done, or the thread must stop */
    bool started;        /* the thread runs (started at the first request) */
    bool stop;           /* kernel_destroy: the thread ends */
    pthread_t thread;
    uint64_t requested; /* rounds asked for */
    uint64_t done;      /* rounds finished: every request up to this one is answered */
    int result;         /* the last round's: 0 memory was freed, -ENOMEM nothing to kill */
    uint64_t kills;     /* processes killed since boot */
};

/* How many exit statuses the kernel keeps for control-socket waits (kernel.exits). */
#define KERNEL_EXIT_RECORDS 64

struct kernel {
    struct kernel_config cfg;
    struct timespec boot_time; /* CLOCK_MONOTONIC at boot, for sysinfo's uptime */
    struct vdso *vdso;         /* mapped into every address space at exec; immutable */
    pthread_mutex_t lock;      /* protects the fields below and the process tree */
    pthread_cond_t changed;
    struct task *init_task;
    bool init_exited;
    /* The root container's seccomp filter (OCI linux.seccomp) as init got it, a reference that
     * `runsc exec` processes share (runc applies the container's filter to them too). Set by
     * kernel_load_init before init_task, then fixed; NULL: none. */
    struct seccomp_filter *container_seccomp;
    int init_status;
    int next_pid;
    int nprocs;
    int ntasks;                    /* live tasks (threads) in the sandbox */
    struct thread_group *groups;   /* every process, live or zombie */
    uint64_t total_forks;          /* tasks created since boot (/proc/stat's "processes") */
    pthread_cond_t itimer_changed; /* wakes the ITIMER_REAL thread (with lock) */
    /* Woken after a signal is queued for any task: signalfd readers and watchers sleep here
     * (Linux's sighand->signalfd_wqh, one for the sandbox: its waiters re-check). */
    struct waitqueue signal_queued;
    /* Woken when a process's last task has ended: pidfd pollers sleep here and re-check. */
    struct waitqueue process_exited;
    bool init_released; /* kernel_run_init was called: a loaded init may run (lock) */
    /* The last processes' exit statuses, for kernel_wait_pid once they are reaped (lock). */
    struct kernel_exit_record {
        int pid;
        int status;
    } exits[KERNEL_EXIT_RECORDS];
    unsigned exits_next;
    /* The pod's further containers (container.c), newest first, and the next number to give
     * one (lock). Destroyed ones stay as tombstones so their ids never fall back to the root. */
    struct kernel_container *containers;
    unsigned next_container;
    /* Set by kernel_pause: tasks park before their next switch into guest code. Written under
     * lock with release order, read by task threads with acquire (so the interrupt that follows
     * the store finds the task either parked or about to see it). */
    _Atomic bool paused;
    int max_tasks; /* the sandbox's task limit: cfg.max_tasks within KERNEL_MAX_TASKS; fixed */
    struct kernel_oom oom;
    /* The sandbox's sysctl values (its own lock): one IPC and one network namespace. */
    struct sysctl_table sysctl;
};

/* The Linux release the sentry presents (uname(2), /proc/version): the ABI it implements
 * follows this release. */
#define KERNEL_UTS_RELEASE "6.1.0"
#define KERNEL_UTS_VERSION "#1 SMP PREEMPT_DYNAMIC runsc"

/* pid_max: pids wrap below this, as Linux's default. */
#define KERNEL_PID_MAX 32768
/* The sandbox's own task limit, whatever RLIMIT_NPROC says: each task costs the host a thread
 * and a stub process, so a fork bomb stops here with EAGAIN instead of exhausting the host. */
#define KERNEL_MAX_TASKS 1024

int kernel_create(const struct kernel_config *cfg, struct kernel **out);
void kernel_destroy(struct kernel *k);
/* Loads and starts the first process. Returns 0, or -errno with a reason in `why`. */
int kernel_start_init(struct kernel *k, const struct init_process *init, char *why, size_t whylen);
/* The two halves of kernel_start_init, for a container that is created, then started: load
 * makes the task and runs execve (an executable without a slash is looked up in init's PATH, as
 * execvp does), so a missing (-ENOENT) or unrunnable one is known now; the task then waits
 * until kernel_run_init (0, -ESRCH before a load, -EALREADY the second time). */
int kernel_load_init(struct kernel *k, const struct init_process *init, char *why, size_t whylen);
int kernel_run_init(struct kernel *k);
/* Waits for the first process to exit and returns its wait(2) status. */
int kernel_wait_init(struct kernel *k);
/* Delivers a signal from outside the sandbox (runsc forwarding a host signal) to pid 1. */
void kernel_signal_init_from_host(struct kernel *k, int sig);

/* File owners (fown.c): fcntl's F_GETOWN, F_SETOWN, F_GETOWN_EX, F_SETOWN_EX, F_GETSIG and
 * F_SETSIG on f; -EINVAL for any other cmd. */
long fown_fcntl(struct task *t, struct file *f, int cmd, uint64_t arg);
/* Makes t's process f's owner (dnotify does this when a directory is watched). */
void fown_set_default(struct task *t, struct file *f);
/* send_sigio: f's owner hears of `reason` (POLL_IN, POLL_MSG...) on fd: F_SETSIG's signal with
 * si_fd and si_band, or a plain SIGIO. Nothing without an owner. Takes kernel.lock. */
void fown_send_sigio(struct kernel *k, struct file *f, int fd, int reason);
/* Control of a running sandbox from outside (control.c, init.c), for the control socket. */
struct control_process;
struct control_stats;
/* A new process started from outside, as gVisor's Execute: no parent in the sandbox (ppid 0),
 * its own session and process group, init's root and mounts, reaped by the kernel with its
 * status kept for kernel_wait_pid. stdio_fds are host fds that become fds 0-2 (-1: none),
 * owned by the kernel from the call on, whatever it returns. */
struct kernel_exec {
    char *const *argv; /* argv[0] is looked up in envp's PATH when it has no slash */
    char *const *envp;
    const char *cwd;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int ngroups;
    int stdio_fds[3];
    struct file *stdio_files[3]; /* sentry files for fds 0-2 instead (borrowed: a reference is
                                    taken; that fd's stdio_fds entry is then -1) */
    unsigned container;    /* the pod container it joins (0: the root one) */
    /* kernel_container_create only: the member's seccomp filter (borrowed: the container takes
     * a reference), which its first process and every process exec'd into it get; NULL: none.
     * kernel_execute itself gives a process its container's filter. */
    struct seccomp_filter *seccomp;
    struct fs_context *fs; /* its root and mounts (a reference is taken); NULL: the container's
                              init's, copied */
    bool gated;            /* loaded now, run once kernel_container_start releases it */
    bool has_caps;         /* caps are its capability sets; otherwise its uid's defaults */
    struct init_caps caps;
    bool no_new_privs;     /* PR_SET_NO_NEW_PRIVS from the start (process.noNewPrivileges) */
    /* Called once the new process's session exists (sid: its pid) and before it runs, e.g.
     * to give the session a controlling terminal; NULL: none. */
    void (*on_session)(void *arg, int sid);
    void *on_session_arg;
    /* A pod member's own process.rlimits over the ones init has, and its oomScoreAdj. */
    const struct init_rlimit *rlimits;
    size_t n_rlimits;
    int oom_score_adj;
};
/* The new process's pid, or -errno with a reason in `why` (-ENOENT: not found, 127). */
int kernel_execute(struct kernel *k, const struct kernel_exec *e, char *why, size_t whylen);
/* Waits (kernel.lock held) until kernel.changed is broadcast or KERNEL_WAIT_POLL_MS pass,
 * whichever is first: the one wait of kernel_wait_pid and kernel_container_wait. */
void kernel_wait_changed_locked(struct kernel *k);
/* Waits until process `pid` has exited and gives its wait status (pid 1: init). A process
 * already gone is found among the last KERNEL_EXIT_RECORDS exits. `cancelled` (may be NULL) is
 * asked every KERNEL_WAIT_POLL_MS: when it says true the wait gives up with -EINTR. -ESRCH for
 * a pid unknown. */
#define KERNEL_WAIT_POLL_MS 100
int kernel_wait_pid(struct kernel *k, int pid, int *status, bool (*cancelled)(void *arg),
                    void *arg);
/* The sandbox's live processes (not zombies) of pod container `container` (-1: every one), in
 * pid order; *out is the caller's (free). */
int kernel_list_processes(struct kernel *k, int container, struct control_process **out, size_t *n);
/* Signals from outside the sandbox (as the host's kill: init's rules for signals from outside
 * its namespace hold). Signal 0 only checks that the target exists. */
int kernel_signal_process(struct kernel *k, int pid, int sig);
/* Every process of pod container `container` (-1: of the sandbox). */
int kernel_signal_all(struct kernel *k, int container, int sig);
/* The foreground process group of the terminal that controls `pid`'s session, or, with no
 * such terminal, `pid`'s own process group. */
int kernel_signal_foreground(struct kernel *k, int pid, int sig);
/* The terminal layer's answer to "which group is in the foreground of session sid's terminal"
 * (0: no terminal); set once at start-up, as the session-end hook. */
typedef int (*kernel_foreground_fn)(struct kernel *k, int sid);
void kernel_set_foreground_hook(kernel_foreground_fn fn);
/* Stops every task before its next switch into guest code (tasks sleeping in the sentry stay
 * asleep and park when they wake); returns once every task is parked or asleep, or after
 * KERNEL_PAUSE_SETTLE_MS. Timers keep running: their signals wait for resume. Resume lets them
 * go. Pausing twice or resuming a running kernel is no error. */
#define KERNEL_PAUSE_SETTLE_MS 2000
int kernel_pause(struct kernel *k);
int kernel_resume(struct kernel *k);
/* A task's safe point in its run loop: holds it while the kernel is paused (task.c). */
void task_pause_point(struct task *t);
/* CPU time of every process (live, zombie, and reaped into a parent's children totals), the
 * memory file's pages in use and its limit, and the live task count and limit. */
void kernel_stats(struct kernel *k, struct control_stats *out);
/* Pods (container.c): further containers in the sandbox, each with its own filesystem tree,
 * sharing the sandbox's pid, IPC and network view (gVisor's default for pods). A container is
 * named by its OCI id; any id that names no member (alive or destroyed) is the root container,
 * number 0, whose init is pid 1. */
/* Loads the container's first process from `e` (e->fs its tree, a reference taken; e->gated
 * set by the call; no parent, its own session, tagged with the container), to run at
 * kernel_container_start. Its pid, or -errno with `why` (-EEXIST: the id is taken). */
int kernel_container_create(struct kernel *k, const char *id, const struct kernel_exec *e,
                            char *why, size_t whylen);
/* Runs the loaded first process: 0, -EALREADY the second time, -ESRCH for a destroyed one. The
 * root container's is kernel_run_init. */
int kernel_container_start(struct kernel *k, const char *id);
/* Kills every process of a member container, waits (a while) until they are gone and drops
 * its filesystem tree: 0, or -ESRCH for no such member. */
int kernel_container_destroy(struct kernel *k, const char *id);
/* The container an id names: its number and its first process's pid (1 for the root one);
 * -ESRCH for a destroyed member. */
int kernel_container_find(struct kernel *k, const char *id, unsigned *container, int *init_pid);
/* A new reference to member `container`'s tree, NULL once destroyed (kernel.lock held). */
struct fs_context *kernel_container_fs_locked(struct kernel *k, unsigned container);
/* A reference to member `container`'s seccomp filter (the caller's to put), NULL: none. */
struct seccomp_filter *kernel_container_seccomp_locked(struct kernel *k, unsigned container);
/* Whether the gate of container `container`'s first process is open (kernel.lock held). */
bool kernel_container_released_locked(struct kernel *k, unsigned container);
/* Waits for a container's first process as kernel_wait_pid does for a pid, also once its
 * status has left kernel.exits. */
int kernel_container_wait(struct kernel *k, const char *id, int *status,
                          bool (*cancelled)(void *arg), void *arg);
/* Frees the table (kernel_destroy). */
void kernel_containers_free(struct kernel *k);
/* A process has exited (kernel.lock held; exit.c): a member's first process keeps its status. */
void kernel_container_note_exit(struct kernel *k, struct thread_group *tg);

/* The memory limit's OOM killer (oom.c), as the memory cgroup's: no reclaim; when an allocation
 * fails, SIGKILL to the process with the largest resident size (weighted by oom_score_adj, -1000
 * never), and the allocation retries once the victim is gone. kernel_oom_wait asks for a round
 * and waits for it (at most KERNEL_OOM_WAIT_MS): 0 when memory was freed and a retry may
 * succeed, -ENOMEM when there is nothing to kill or the round took too long, -EINTR when `t`
 * (the caller's task, NULL: none) is being killed. No mm lock may be held: the round reads the
 * mms. kernel_create installs it as the memory file's OOM hook. */
#define KERNEL_OOM_WAIT_MS 3000
int kernel_oom_wait(struct kernel *k, struct task *t);
/* Stops the OOM thread (kernel_destroy). */
void kernel_oom_stop(struct kernel *k);
/* Remembers a process's exit status (kernel.lock held; exit.c). */
void kernel_record_exit(struct kernel *k, int pid, int status);
/* The next free pid (kernel.lock held), or -EAGAIN (fork.c). */
int kernel_alloc_pid(struct kernel *k);

/* Signals (signal.c). */
/* Whether `sender` may signal `target` with `sig` from user space (kill(2), "Permissions"):
 * the same process; a real or effective uid equal to the target's real or saved uid;
 * CAP_KILL; or SIGCONT within the sender's session. Signal 0 asks the same. kernel.lock held. */
bool task_may_signal(const struct task *sender, const struct task *target, int sig);
/* Sends `sig` from inside the sandbox; `info` may be NULL for SI_USER from the task itself. */
int task_signal_send(struct task *t, int sig, const siginfo_t *info);
/* A signal the kernel raises for a process (SI_KERNEL), to the thread that should take it:
 * `from_outside` as from outside the pid namespace (when init dies its namespace is killed, and
 * SIGKILL/SIGSTOP then reach even init), else as from inside (a timer's SIGALRM, which an init
 * without a handler ignores). */
/* Sends sig to the process as a whole (shared pending; a thread not blocking it is woken).
 * from_host: sent from outside the sandbox's pid namespace (init's rules). */
int thread_group_signal_send(struct thread_group *g, int sig, const siginfo_t *info,
                             bool from_host);
void thread_group_signal_from_kernel(struct thread_group *g, int sig, bool from_outside);
/* Drops every instance of `sig` pending for the process and each of its threads (tg->lock
 * held): a signal set to be ignored. */
void thread_group_signal_discard(struct thread_group *g, int sig);
/* Frees a queue's further instances (the task or group is going). */
void sigq_list_free(struct sigq_list *l);
/* A synchronous signal from a fault: it can be neither blocked nor ignored. */
void task_signal_force(struct task *t, int sig, const siginfo_t *info);
/* As task_signal_force, and its default action happens even over a handler (Linux's
 * HANDLER_EXIT: seccomp's KILL actions). */
void task_signal_force_default(struct task *t, int sig, const siginfo_t *info);
/* rt_sigsuspend's, ppoll's and pselect6's mask, in force while they wait: the old one comes
 * back when a handler's frame returns, or at task_restore_temporary_mask (the call returned
 * without a signal to handle), or when a signal turns out to need nothing. */
void task_set_temporary_mask(struct task *t, uint64_t mask);
void task_restore_temporary_mask(struct task *t);
/* Acts on pending unblocked signals before the task returns to guest code. */
void task_signal_deliver(struct task *t);
/* True if an unblocked signal is pending, or the thread group is exiting: blocking calls return
 * EINTR (or restart codes) so the task can act on it. */
bool task_signal_pending(struct task *t);
/* For signalfd(2): the signals pending for `t`, and taking the first one in `mask` (synchronous
 * signals first, then the lowest number, as Linux's next_signal): its number and *info, or 0. */
uint64_t task_signal_pending_set(struct task *t);
int task_signal_dequeue_mask(struct task *t, uint64_t mask, siginfo_t *info);
/* rt_sigtimedwait(2): takes a pending signal of `mask`, waiting (with those signals unblocked
 * meanwhile) until one comes or `deadline` (CLOCK_MONOTONIC, NULL: none) passes. The signal,
 * -EAGAIN on timeout, or -EINTR when another signal interrupts. */
int task_signal_timedwait(struct task *t, uint64_t mask, const struct timespec *deadline,
                          siginfo_t *info);
/* Signals pending for the processes of real user `ruid`, as RLIMIT_SIGPENDING counts them
 * (kernel.lock held; signal.c). */
int kernel_count_user_pending(struct kernel *k, uid_t ruid);
/* Wakes a task sleeping in the sentry or running guest code so it looks at its signals. */
void task_interrupt(struct task *t);
/* Wakes a task blocked in task_block (wait queues call this). */
void task_wake(struct task *t);
/* Blocks until woken, a signal is pending, or `deadline` (CLOCK_MONOTONIC; NULL for none)
 * passes: 0, -EINTR or -ETIMEDOUT. Wakes may be spurious: callers re-check their condition. */
int task_block(struct task *t, const struct timespec *deadline);

/* Job control (jobctl.c). */
/* The default action of a stop signal for `t`'s process: the group stops, the parent hears of
 * it, and the task waits until continued or killed. Called by signal delivery, no lock held. */
void task_group_stop(struct task *t, int sig);
/* Holds the task while its process is stopped (no lock held); pays the parent the CLD_CONTINUED
 * notice a SIGCONT left owing. Returns when the process runs again or is dying. */
void task_stopped_wait(struct task *t);
/* SIGCONT's effect at the time it is sent (signal(7)): pending stop signals are discarded and a
 * stopped process resumes, even if SIGCONT is ignored; a stop signal sent discards a pending
 * SIGCONT. tg->lock held; returns true when the caller must wake every task of tg. */
bool thread_group_prepare_signal(struct thread_group *tg, int sig);
/* Sends `sig` (SI_KERNEL) to every process of process group `pgid`; 0 or -ESRCH if it has none.
 * Takes kernel.lock. */
int kernel_signal_pgrp(struct kernel *k, int pgid, int sig);
/* Whether process group `pgid` has a member in session `sid` (takes kernel.lock). */
bool kernel_pgrp_in_session(struct kernel *k, int pgid, int sid);
/* Whether process group `pgid` is orphaned (credentials(7)): no member has a parent in another
 * group of the same session. An empty group counts as orphaned. Takes kernel.lock. */
bool kernel_pgrp_orphaned(struct kernel *k, int pgid);
/* Whether `sig` is ignored or blocked by `t` (job control's EIO rules for terminals). */
bool task_signal_ignored_or_blocked(struct task *t, int sig);
/* The terminal layer's hook, called without locks when a session leader's process ends: its
 * controlling terminal hangs up (SIGHUP and SIGCONT to the foreground group) and loses the
 * session. Set once at start-up. */
typedef void (*kernel_session_end_fn)(struct kernel *k, int sid);
void kernel_set_session_end_hook(kernel_session_end_fn fn);

/* Logs why a task dies of a fault or exception: the signal and the instruction
 * (crash_report.c). */
void task_report_crash(struct task *t, int sig, const siginfo_t *info);

/* ITIMER_REAL (itimer.c): starts the kernel's timer thread; sets and reads a process's timer.
 * NULL `value` only reads; a zero `value` disarms. */
int kernel_start_itimers(struct kernel *k);
void itimer_real_set(struct task *t, const struct timespec *value, const struct timespec *interval,
                     struct timespec *old_value, struct timespec *old_interval);

/* POSIX timers (posix_timer.c): timer_create(2) and friends for the calling task's process.
 * `ev` is the guest's struct sigevent's fields (NULL: SIGEV_SIGNAL with SIGALRM and the id as
 * value). Each returns what the syscall returns. */
struct posix_timer_event {
    int notify; /* SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID (with SIGEV_SIGNAL) */
    int signo;
    uint64_t value; /* sigev_value, delivered in si_value */
    int tid;        /* SIGEV_THREAD_ID's thread */
};
long posix_timer_create(struct task *t, clockid_t clock, const struct posix_timer_event *ev);
long posix_timer_settime(struct task *t, int id, bool abstime, const struct itimerspec *value,
                         struct itimerspec *old);
long posix_timer_gettime(struct task *t, int id, struct itimerspec *cur);
long posix_timer_getoverrun(struct task *t, int id);
long posix_timer_delete(struct task *t, int id);
/* Deletes every timer_create timer of the process (exec, and the end of its last thread); with
 * `itimers` the CPU-time interval timers too (the end of the process). */
void thread_group_release_timers(struct thread_group *tg, bool itimers);
/* ITIMER_VIRTUAL (process user time) and ITIMER_PROF (user and system time): as itimer_real_set,
 * on the process's accounted CPU time. */
void itimer_cpu_set(struct task *t, int which, const struct timespec *value,
                    const struct timespec *interval, struct timespec *old_value,
                    struct timespec *old_interval);

/* The task whose sentry thread is calling (NULL on other threads): what /proc/self names. Each
 * task thread sets it when it starts (task.c). */
struct task *task_current(void);
void task_set_current(struct task *t);
/* New references to a task's address space, fd table and fs context, or NULL once its thread
 * released them (tg->lock taken inside): for /proc, which reads other tasks' state. */
struct mm *task_get_mm(struct task *t);
struct fdtable *task_get_fds(struct task *t);
struct fs_context *task_get_fs(struct task *t);

/* RLIMIT_NOFILE as a bound on fd numbers, capped at what an fd table can hold (task.c). */
int task_nofile_limit(struct task *t);
/* The process's soft limit for `resource` (task.c). */
rlim_t task_rlimit(struct task *t, int resource);
/* Whether the task's effective set holds `cap` (CAP_*), as capable(9) asks. */
static inline bool task_capable(const struct task *t, int cap)
{
    return (t->creds.cap_effective >> cap) & 1;
}

/* The capability rules of credentials(7)/capabilities(7) (caps.c). */
/* A fresh process's sets for its uids: uid 0 holds the whole bounding set, others none. */
void creds_caps_reset(struct creds *c, uint64_t bounding);
/* After a set*uid call changed ruid/euid/suid from the old values (cap_emulate_setxuid). */
void creds_caps_fix_setuid(struct creds *c, uid_t old_ruid, uid_t old_euid, uid_t old_suid,
                           bool keepcaps);
/* After setfsuid(2) moved fsuid from `old_fsuid`: the file-system capabilities follow it. */
void creds_caps_fix_setfsuid(struct creds *c, uid_t old_fsuid);
/* The VFS's view of the creds: fsuid/fsgid and CAP_DAC_OVERRIDE/FOWNER/CHOWN. */
void creds_vfs_cred(const struct creds *c, struct vfs_cred *out);
/* execve(2)'s transformation (no file capabilities, no set-user-ID files). */
void creds_caps_exec(struct creds *c);
/* The process's RLIMIT_AS/DATA/STACK/MEMLOCK as its mm enforces them (tg->lock taken inside),
 * and handing them to `mm` (task.c). */
struct mm_limits;
void task_mm_limits(struct task *t, struct mm_limits *l);
void task_apply_mm_limits(struct task *t, struct mm *mm);
/* Live tasks whose real uid is `ruid`, as RLIMIT_NPROC counts them (kernel.lock held). */
int kernel_count_user_tasks(struct kernel *k, uid_t ruid);

/* pidfds (pidfd.c): a file naming a process, readable once all its threads have ended. */
int pidfd_file_create(struct kernel *k, struct thread_group *g, int status_flags,
                      struct file **out);
/* A new pidfd for `g` in t's fd table (close-on-exec): the fd, or -errno. */
int pidfd_install(struct task *t, struct thread_group *g, int status_flags);
bool pidfd_file_is(const struct file *f);
/* The process a pidfd names (kernel.lock held), or NULL once it has been reaped. */
struct thread_group *pidfd_file_group(struct file *f);
/* Its pid as /proc/PID/fdinfo shows it, -1 once reaped (takes kernel.lock). */
int pidfd_file_pid(struct file *f);
/* seccomp (seccomp.c): guest filters, as Linux's kernel/seccomp.c. */
/* The marker task.seccomp holds in SECCOMP_MODE_STRICT (read, write, exit, rt_sigreturn). */
extern struct seccomp_filter seccomp_strict_mode;
/* A filter from a classic BPF program: validated as Linux's seccomp_prepare_filter
 * (bpf_check_classic, then loads only of aligned words of struct seccomp_data); `log` is
 * SECCOMP_FILTER_FLAG_LOG. 0 and a new reference, or -EINVAL, -ENOMEM. */
int seccomp_filter_create(const struct sock_filter *prog, unsigned len, bool log,
                          struct seccomp_filter **out);
void seccomp_filter_put(struct seccomp_filter *f);
/* Another reference to f (NULL and the strict marker pass through). */
struct seccomp_filter *seccomp_filter_get(struct seccomp_filter *f);
/* SECCOMP_SET_MODE_FILTER's attach: `f` (whose reference passes in, kept or dropped) on top of
 * the task's stack, and with SECCOMP_FILTER_FLAG_TSYNC on every other thread's too. 0, a tid
 * that cannot sync (or -ESRCH with TSYNC_ESRCH), -EINVAL in strict mode, -ENOMEM past
 * Linux's MAX_INSNS_PER_PATH. */
long task_seccomp_attach(struct task *t, struct seccomp_filter *f, unsigned flags);
/* SECCOMP_SET_MODE_STRICT: 0, or -EINVAL with a filter installed. */
long task_seccomp_set_strict(struct task *t);
/* The mode (0 disabled, 1 strict, 2 filter) and how many filters are stacked (/proc status);
 * tg->lock held. */
int task_seccomp_mode(struct task *t);
int task_seccomp_filter_count(struct task *t);
/* Fork: the child takes the parent's filter (tg->lock of the parent held). */
void task_seccomp_inherit(struct task *parent, struct task *child);
/* A new task, not yet running and without a filter, shares the stack f (a reference is taken):
 * kernel_execute's processes get the container's filter. */
void task_seccomp_share(struct task *t, struct seccomp_filter *f);
/* What syscall entry does after the filters ran (task_seccomp_enter). */
enum seccomp_verdict {
    SECCOMP_VERDICT_RUN,    /* run the syscall */
    SECCOMP_VERDICT_RETURN, /* skip it; the guest sees *ret (ERRNO, TRACE, USER_NOTIF) */
    SECCOMP_VERDICT_SKIP,   /* skip it, registers as they are (TRAP, KILL_*: a signal or an exit
                               is under way) */
};
/* Runs the task's filters (t->seccomp, non-NULL, loaded by the caller) on the syscall it
 * stopped on, and acts on the strongest action. */
enum seccomp_verdict task_seccomp_enter(struct task *t, struct seccomp_filter *f, long *ret);

/* Processes (fork.c, exit.c). */
/* fork(2)/clone(2): a new thread (CLONE_THREAD) or process, the latter with a copy-on-write
 * copy of the address space or sharing it (CLONE_VM). Returns the child's pid or -errno. */
struct clone_request {
    uint64_t flags;      /* CLONE_* and the exit signal in the low byte */
    uint64_t stack;      /* new stack pointer, or 0 */
    uint64_t parent_tid; /* CLONE_PARENT_SETTID */
    uint64_t child_tid;  /* CLONE_CHILD_SETTID / CLONE_CHILD_CLEARTID */
    uint64_t tls;        /* CLONE_SETTLS */
    uint64_t pidfd;      /* CLONE_PIDFD: where the parent gets the child's pidfd (an int) */
};
long task_fork(struct task *t, const struct clone_request *req);
/* Ends the thread group with wait status `status`. */
void task_exit_group(struct task *t, int status);
/* exit(2): ends only this thread; the last one's status is the process's. */
void task_exit_thread(struct task *t, int status);
/* wait4(2): returns the reaped pid, 0 (WNOHANG), or -errno; *status gets the wait status. */
long task_wait(struct task *t, int pid, int options, int *status, struct rusage *ru);
/* What waitid(2) learns of a child. */
struct wait_result {
    int pid;
    int code;    /* CLD_* */
    int status;  /* exit code or signal, as siginfo's si_status */
    int wstatus; /* as wait4's status word */
    uid_t uid;
    struct rusage ru; /* a reaped child's resource usage (zero for stops and continues) */
};
/* The core of wait4 and waitid: `pid` as wait4's (-1 any, 0 own group, -pgid, pid), options
 * WEXITED/WSTOPPED/WCONTINUED/WNOHANG/WNOWAIT. The child's pid, 0 (WNOHANG, nothing yet) or
 * -errno. */
long task_waitid(struct task *t, int pid, int options, struct wait_result *res);
/* The thread group with this tgid (kernel.lock held), or NULL. */
struct thread_group *kernel_find_group(struct kernel *k, int tgid);
/* After a task's thread stops: frees what it owned, and for a process's last task makes it a
 * zombie for its parent (exit.c). */
void task_release(struct task *t);
/* Frees a reaped (or never started) process: all its tasks and the group. */
void task_free(struct task *t);
/* The task of `tg` a process-directed `sig` goes to: one not blocking it if any, else any live
 * one (tg->lock taken inside); NULL if all have ended. */
struct task *thread_group_signal_target(struct thread_group *tg, int sig);
/* The task with this tid (kernel.lock held), or NULL. */
struct task *kernel_find_task(struct kernel *k, int tid);
/* Gives the task's host thread (its platform context) the task's comm if it changed since the
 * last time; task_run does it before each run, and a new context may do it sooner to let the
 * platform give the name with its first batch. Called by the task's own thread. */
void task_sync_host_name(struct task *t);

/* Internals shared by task.c, init.c and fork.c. */
struct task *task_alloc(struct kernel *k, struct thread_group *tg, int tid);
struct thread_group *thread_group_alloc(struct kernel *k, int tgid);
void task_run(struct task *t);
/* Sets the task's comm (at most 15 bytes of `name`); its stub thread follows before the task
 * next runs guest code. The caller is the task's own thread, or holds t->tg->lock. */
void task_set_comm(struct task *t, const char *name);
/* Shows the host the image of `mm` through the platform: the host's /proc/PID/cmdline of the
 * process running it then reads the guest's argv (as it was at exec: later changes to the argv
 * strings are not followed). Called by a thread with a context in mm's address space, after
 * exec and fork. Best effort: a failure is only logged. */
void task_publish_image(struct mm *mm);
int task_attach_platform(struct task *t, const char **why);
/* vfork: the parent sleeps until the child is gone (there is no execve yet to release it). */
/* CPU time as getrusage(2) and times(2) report it: user time is the time the task spent in guest
 * code (measured around each switch into it: the host doesn't let the sentry read another
 * process's per-thread CPU clock, so descheduled time counts too), system time the CPU time of
 * its sentry thread (syscalls and faults). ns. */
void task_cputime(struct task *t, uint64_t *utime, uint64_t *stime);
/* The process's: live threads plus ended ones. tg->lock must not be held. */
void thread_group_cputime(struct thread_group *tg, uint64_t *utime, uint64_t *stime);
/* clock_gettime(2) and clock_getres(2) on a Linux CPU-clock id (negative: what
 * clock_getcpuclockid(3) and pthread_getcpuclockid(3) return) as `t` names it: *ns (if not NULL)
 * gets the clock's reading. 0, or -EINVAL for a malformed id or one naming no thread of t's
 * process / no process. `gettime`: clock_gettime's lookup (a process's clock by the caller's own
 * tid too). Takes kernel.lock. */
int kernel_cpu_clock_read(struct task *t, clockid_t clock, bool gettime, uint64_t *ns);
/* A thread ends: its CPU time joins the process's ended_* totals (before its stub goes). */
void task_account_exit(struct task *t);
/* The parent reaps `child`: the child's times (its own and its reaped children's) become the
 * parent's children_* totals, and *ru (if not NULL) gets what wait4(2) reports for it. */
void thread_group_account_reaped(struct thread_group *parent, struct thread_group *child,
                                 struct rusage *ru);
/* execve(2) for the calling task: 0 with the task's registers set for the new image, or -errno
 * with the old image intact; *why may get a short reason. */
int task_execve(struct task *t, const char *path, char *const *argv, char *const *envp,
                const char **why);
void task_wait_vfork(struct task *t, struct thread_group *child);
/* An exiting process's effect on orphaned groups with stopped jobs (kernel.lock held), and the
 * session-end hook's call (no lock held) (jobctl.c). */
void jobctl_exit_orphans(struct kernel *k, struct thread_group *tg);
void kernel_session_end(struct kernel *k, int sid);
/* Sleeps until `deadline` (CLOCK_MONOTONIC) or a signal; 0 or -EINTR. */
int task_sleep_until(struct task *t, const struct timespec *deadline);

#endif
