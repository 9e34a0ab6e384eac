/* System V shared memory: private and keyed segments, IPC_CREAT|IPC_EXCL, sizes, attaching
 * (anywhere, at an address, SHM_RND, SHM_RDONLY, no silent replace), sharing with a fork child
 * and between attaches, IPC_STAT's counts, IPC_SET, and IPC_RMID's deferred removal. Ids and
 * keys are not printed: natively they come from the host's IPC namespace. */
#include "guest.h"

#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <sys/wait.h>

static unsigned long nattch(int id)
{
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) != 0)
        return (unsigned long)-1;
    return ds.shm_nattch;
}

int main(void)
{
    long page = guest_page_size();
    struct shmid_ds ds;

    int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    EXPECT_FACT("shmget IPC_PRIVATE", id >= 0);
    EXPECT_RET("IPC_STAT", shmctl(id, IPC_STAT, &ds), 0);
    EXPECT_RET("segsz", ds.shm_segsz, 10000);
    EXPECT_RET("mode", ds.shm_perm.mode & 0777, 0600);
    EXPECT_RET("nattch before attach", ds.shm_nattch, 0);
    EXPECT_FACT("cpid is us", ds.shm_cpid == getpid());
    EXPECT_FACT("uid is ours", ds.shm_perm.uid == geteuid() && ds.shm_perm.cuid == geteuid());

    char *p = shmat(id, NULL, 0);
    EXPECT_FACT("shmat anywhere", p != (void *)-1 && ((uintptr_t)p % page) == 0);
    EXPECT_FACT("zero filled", p[0] == 0 && p[9999] == 0);
    EXPECT_RET("nattch 1", nattch(id), 1);
    strcpy(p, "parent");

    /* A second attach sees the same bytes. */
    char *q = shmat(id, NULL, SHM_RDONLY);
    EXPECT_FACT("second attach", q != (void *)-1 && q != p);
    EXPECT_FACT("same bytes", strcmp(q, "parent") == 0);
    EXPECT_RET("nattch 2", nattch(id), 2);

    /* A fork child shares the attach and can attach again itself. */
    pid_t pid = fork();
    if (pid == 0) {
        char *c = shmat(id, NULL, 0);
        if (c == (void *)-1 || strcmp(c, "parent") != 0)
            _exit(1);
        strcpy(c + 100, "child");
        strcpy(p + 200, "inherited");
        _exit(nattch(id) == 5 ? 0 : 2);
    }
    int status;
    waitpid(pid, &status, 0);
    EXPECT_RET("child saw 5 attaches (2 inherited)", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
               0);
    EXPECT_FACT("child's writes seen",
                strcmp(p + 100, "child") == 0 && strcmp(q + 200, "inherited") == 0);
    EXPECT_RET("nattch 2 after the child", nattch(id), 2);

    /* SHM_RDONLY: a write faults. */
    pid = fork();
    if (pid == 0) {
        q[0] = 'x';
        _exit(0);
    }
    waitpid(pid, &status, 0);
    EXPECT_FACT("write to a read-only attach: SIGSEGV",
                WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    EXPECT_RET("shmdt the second", shmdt(q), 0);
    EXPECT_RET("nattch 1 again", nattch(id), 1);
    EXPECT_ERRNO("shmdt again", shmdt(q), EINVAL);
    EXPECT_ERRNO("shmdt unaligned", shmdt(p + 1), EINVAL);
    EXPECT_ERRNO("shmdt of other memory", shmdt(&ds), EINVAL);

    /* Attaching at an address: aligned, SHM_RND, never over a mapping without SHM_REMAP. */
    char *hole = mmap(NULL, 8 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole, 8 * page);
    EXPECT_ERRNO("unaligned address", shmat(id, hole + 1, 0), EINVAL);
    char *r = shmat(id, hole + 1, SHM_RND);
    EXPECT_FACT("SHM_RND rounds down", r == hole);
    EXPECT_FACT("same bytes there", strcmp(r, "parent") == 0);
    EXPECT_ERRNO("over an attach", shmat(id, hole, 0), EINVAL);
    char *r2 = shmat(id, hole, SHM_REMAP);
    EXPECT_FACT("SHM_REMAP replaces", r2 == hole);
    EXPECT_RET("shmdt it", shmdt(r2), 0);

    /* IPC_SET changes the mode. */
    ds.shm_perm.mode = 0640;
    EXPECT_RET("IPC_SET", shmctl(id, IPC_SET, &ds), 0);
    shmctl(id, IPC_STAT, &ds);
    EXPECT_RET("new mode", ds.shm_perm.mode & 0777, 0640);

    /* IPC_RMID while attached: marked, usable, gone at the last detach. */
    EXPECT_RET("IPC_RMID", shmctl(id, IPC_RMID, NULL), 0);
    EXPECT_RET("IPC_STAT after IPC_RMID", shmctl(id, IPC_STAT, &ds), 0);
    EXPECT_FACT("SHM_DEST set", (ds.shm_perm.mode & SHM_DEST) != 0);
    EXPECT_FACT("key is private now", ds.shm_perm.__key == IPC_PRIVATE);
    strcpy(p, "still here");
    EXPECT_FACT("memory still works", strcmp(p, "still here") == 0);
    EXPECT_RET("last shmdt", shmdt(p), 0);
    EXPECT_ERRNO("IPC_STAT after the last detach", shmctl(id, IPC_STAT, &ds), EINVAL);

    /* Keys. */
    key_t key;
    do
        CHECK(getrandom(&key, sizeof(key), 0) == sizeof(key), "getrandom");
    while (key == IPC_PRIVATE);
    int k1 = shmget(key, page, IPC_CREAT | IPC_EXCL | 0600);
    EXPECT_FACT("create with a key", k1 >= 0);
    EXPECT_ERRNO("IPC_EXCL again", shmget(key, page, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    EXPECT_FACT("find by key", shmget(key, 0, 0) == k1);
    EXPECT_FACT("IPC_CREAT finds it", shmget(key, 16, IPC_CREAT | 0600) == k1);
    EXPECT_ERRNO("larger than the segment", shmget(key, 2 * page, 0), EINVAL);
    EXPECT_RET("IPC_RMID unattached", shmctl(k1, IPC_RMID, NULL), 0);
    EXPECT_ERRNO("gone at once", shmctl(k1, IPC_STAT, &ds), EINVAL);
    EXPECT_ERRNO("key free", shmget(key, 0, 0), ENOENT);

    EXPECT_ERRNO("size 0", shmget(IPC_PRIVATE, 0, 0600), EINVAL);
    EXPECT_ERRNO("shmat bad id", shmat(-1, NULL, 0), EINVAL);
    EXPECT_ERRNO("shmctl bad id", shmctl(-1, IPC_STAT, &ds), EINVAL);
    int k2 = shmget(IPC_PRIVATE, page, 0600);
    EXPECT_ERRNO("shmctl bad cmd", shmctl(k2, 12345, &ds), EINVAL);
    EXPECT_ERRNO("IPC_STAT bad buffer", shmctl(k2, IPC_STAT, (void *)8), EFAULT);
    EXPECT_RET("remove", shmctl(k2, IPC_RMID, NULL), 0);
    return guest_ok();
}
