/* Per-arch facts for x86_64 that the arch-neutral code may use. */
#ifndef RUNSC_ARCH_X86_64_ARCH_H
#define RUNSC_ARCH_X86_64_ARCH_H

#include <elf.h>
#include <linux/audit.h>
#include <stdint.h>

#define ARCH_NAME "x86_64"
#define ARCH_ELF_MACHINE EM_X86_64
#define ARCH_PAGE_SIZE 4096UL
/* Guest addresses are below this; the ptrace platform's stub page sits above it. The real limit
 * of an address space is the platform's (platform_max_user_address), at most this. */
#define ARCH_USER_ADDR_LIMIT 0x7ffffffff000UL
/* Where position-independent executables with an interpreter go, as a fraction of the address
 * space (Linux's ELF_ET_DYN_BASE: two thirds of TASK_SIZE). */
#define ARCH_ELF_ET_DYN_BASE(max_addr) (((max_addr) / 3 * 2) & ~(ARCH_PAGE_SIZE - 1))
/* seccomp(2)'s struct seccomp_data.arch for this arch's syscalls, and libseccomp's name for
 * the arch. */
#define ARCH_AUDIT_ARCH AUDIT_ARCH_X86_64
#define ARCH_SECCOMP_NAME "x86_64"
/* SECCOMP_MODE_STRICT's syscalls: read, write, exit, rt_sigreturn (seccomp(2)). */
#define ARCH_SECCOMP_STRICT_SYSCALLS {0, 1, 60, 15}
/* AT_PLATFORM. */
#define ARCH_PLATFORM_STRING "x86_64"
/* The kernel's O_LARGEFILE, which open(2) sets on every file of a 64-bit process (F_GETFL shows
 * it); glibc defines O_LARGEFILE as 0 on 64-bit hosts. */
#define ARCH_O_LARGEFILE 0100000

/* struct epoll_event as epoll_ctl(2) and epoll_wait(2) pass it: packed to 12 bytes on x86_64
 * (the kernel's EPOLL_PACKED), so the 64-bit data is unaligned. */
struct arch_epoll_event {
    uint32_t events;
    uint64_t data;
} __attribute__((packed));

#endif
