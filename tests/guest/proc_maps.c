/* /proc/self/maps and smaps_rollup: every line parses in Linux's format, lines are sorted and
 * disjoint, the stack, the heap and the executable's code are where the process finds them. */
#include "guest.h"

#include <fcntl.h>
#include <stdbool.h>

static int global_data = 1;

static char *read_file(const char *path)
{
    static char buf[1 << 17];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0, "open %s: %s", path, guest_errno_name(errno));
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        CHECK(r >= 0, "read %s", path);
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return buf;
}

int main(void)
{
    int local = 0;
    void *heap = malloc(64);
    CHECK(heap, "malloc");
    char exe[4096];
    ssize_t elen = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    CHECK(elen > 0, "readlink exe: %s", guest_errno_name(errno));
    exe[elen] = '\0';

    char *maps = read_file("/proc/self/maps");
    int lines = 0;
    bool stack_ok = false, heap_ok = false, code_ok = false, data_ok = false;
    unsigned long prev_end = 0;
    for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long start, end, off, ino;
        char perms[5];
        unsigned major, minor;
        int name_at = 0;
        int got = sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %n", &start, &end, perms, &off, &major,
                         &minor, &ino, &name_at);
        CHECK(got == 7, "unparsable maps line: %s", line);
        CHECK(start < end && start >= prev_end, "unsorted or empty: %s", line);
        CHECK(strspn(perms, "r-") >= 1 && (perms[3] == 'p' || perms[3] == 's'), "perms %s",
              perms);
        const char *name = line + name_at;
        if (*name) /* names start at column 73, or right after for long headers */
            CHECK(name_at >= 73 || line[name_at - 2] != ' ', "name column: %s", line);
        uintptr_t a = (uintptr_t)&local, h = (uintptr_t)heap, c = (uintptr_t)&main,
                  d = (uintptr_t)&global_data;
        if (start <= a && a < end)
            stack_ok = strcmp(name, "[stack]") == 0 && perms[0] == 'r' && perms[1] == 'w';
        if (start <= h && h < end)
            heap_ok = strcmp(name, "[heap]") == 0 || name[0] == '\0';
        if (start <= c && c < end)
            code_ok = strcmp(name, exe) == 0 && perms[2] == 'x';
        if (start <= d && d < end)
            data_ok = perms[1] == 'w';
        prev_end = end;
        lines++;
    }
    EXPECT_FACT("maps has lines", lines >= 3);
    EXPECT_FACT("stack line covers a local", stack_ok);
    EXPECT_FACT("heap or anonymous line covers malloc", heap_ok);
    EXPECT_FACT("code line names the executable", code_ok);
    EXPECT_FACT("data line is writable", data_ok);

    char *rollup = read_file("/proc/self/smaps_rollup");
    EXPECT_FACT("smaps_rollup header is [rollup]", strstr(rollup, "[rollup]\nRss:") != NULL);
    unsigned long rss = 0;
    const char *r = strstr(rollup, "\nRss:");
    CHECK(r && sscanf(r + 5, "%lu", &rss) == 1, "Rss");
    EXPECT_FACT("Rss is positive", rss > 0);

    char *statm = read_file("/proc/self/statm");
    unsigned long size, resident;
    CHECK(sscanf(statm, "%lu %lu", &size, &resident) == 2, "statm");
    EXPECT_FACT("statm resident <= size", resident <= size && size > 0);
    free(heap);
    return guest_ok();
}
