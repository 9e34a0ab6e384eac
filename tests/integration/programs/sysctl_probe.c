/* What a container sees of the sysctls its spec set: shmget of each size given on the command
 * line ("shmget N: ok" or the errno's name), and the port an unnamed TCP bind gets. With
 * "make KEY" it leaves a segment with that key behind instead; "find KEY" says whether one
 * exists (kernel.shm_rmid_forced removes a creator's unattached segments when it exits). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
    if (argc == 3 && (strcmp(argv[1], "make") == 0 || strcmp(argv[1], "find") == 0)) {
        bool make = argv[1][0] == 'm';
        int id = shmget((key_t)atoi(argv[2]), 4096, make ? IPC_CREAT | 0600 : 0);
        printf("%s %s: %s\n", argv[1], argv[2],
               id >= 0 ? "ok" : errno == ENOENT ? "ENOENT" : "other");
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        size_t size = strtoull(argv[i], NULL, 10);
        int id = shmget(IPC_PRIVATE, size, 0600);
        printf("shmget %zu: %s\n", size, id >= 0 ? "ok" : errno == EINVAL ? "EINVAL" : "other");
        if (id >= 0)
            shmctl(id, IPC_RMID, NULL);
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        perror("bind");
        return 1;
    }
    printf("ephemeral port: %u\n", ntohs(a.sin_port));
    return 0;
}
