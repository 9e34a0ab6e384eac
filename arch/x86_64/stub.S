/* The ptrace platform's stub code for x86_64. It is copied to one page at a fixed high address in
 * every stub process and is the only code there besides the guest's. Position independent.
 *
 * stub_init(rdi = struct sock_fprog *, rsi = end of the user address range, rdx = start of the
 * stub's private pages just below this page, rcx = struct arch_stub_template * or 0): installs the
 * stub seccomp filter, unmaps everything but those pages and this one, and stops itself with
 * SIGSTOP for its tracer; or, given a template block (in the private pages), becomes the template
 * that forks stubs (stub_template). No stack is used after the filter is installed: the stack is
 * unmapped with the rest.
 *
 * stub_template: reads a byte from the block's socket for each stub wanted; forks; waits until the
 * child has stopped itself; writes its pid (or -errno) back as an int32. The child maps its
 * batch page (the batch file's page at its pid, if below the block's limit), closes the
 * template's fds, asks for SIGKILL when the template dies, and stops itself. EOF: exit.
 *
 * stub_syscall: the tracer points rip here with the syscall in rax and args in registers; the
 * host executes it and int3 stops the thread with the result in rax.
 *
 * stub_clone: the same for clone(CLONE_VM|CLONE_THREAD|...): the calling thread stops at int3
 * with the new thread's tid; the new thread (rax 0) parks in pause() until the sentry thread that
 * will drive it seizes it and gives it registers. It needs no stack.
 *
 * stub_batch(rbx = array of {nr, 6 args, expected result} quadwords, r12 = count): makes each
 * syscall in order, and stops at int3 with rax 0, or at the first whose result is not the one
 * expected with rax that result and r12 the entries left (it too). */
    .section .text.runsc_stub, "ax", @progbits
    .balign 4096
    .globl arch_stub_code_start
arch_stub_code_start:

    .globl arch_stub_init
arch_stub_init:
    mov     %rsi, %r12              /* end of user range, kept across syscalls */
    mov     %rdx, %r13              /* start of the private pages, likewise */
    mov     %rcx, %r14              /* the template block, likewise */
    mov     %rdi, %rdx              /* seccomp(SECCOMP_SET_MODE_FILTER, 0, prog) */
    mov     $1, %edi
    xor     %esi, %esi
    mov     $317, %eax
    syscall
    test    %rax, %rax
    jnz     stub_fail
    xor     %edi, %edi              /* munmap(0, start of the private pages) */
    mov     %r13, %rsi
    mov     $11, %eax
    syscall
    test    %rax, %rax
    jnz     stub_fail
    lea     arch_stub_code_end(%rip), %rdi  /* munmap(end of this page, top - end) */
    mov     %r12, %rsi
    sub     %rdi, %rsi
    jz      1f
    mov     $11, %eax
    syscall
    test    %rax, %rax
    jnz     stub_fail
1:
    test    %r14, %r14
    jnz     stub_template
stub_stop:
    mov     $39, %eax               /* kill(getpid(), SIGSTOP) */
    syscall
    mov     %rax, %rdi
    mov     $19, %esi
    mov     $62, %eax
    syscall
    /* The tracer always sets rip before resuming; reaching here is a bug. */
    jmp     stub_fail

    /* r14 = the block: 0 socket fd, 8 batch fd, 16 batch pages, 24 batch page address, 32 the
     * template's pid, 40 a scratch word, 48 the wait status, 56 the reply. */
stub_template:
    mov     (%r14), %rdi            /* read(sock, scratch, 8) */
    lea     40(%r14), %rsi
    mov     $8, %edx
    xor     %eax, %eax
    syscall
    test    %rax, %rax
    jle     template_exit
    mov     $57, %eax               /* fork() */
    syscall
    test    %rax, %rax
    jz      template_child
    js      template_reply
    mov     %rax, %r15
    mov     %rax, %rdi              /* wait4(pid, &status, WUNTRACED, NULL) */
    lea     48(%r14), %rsi
    mov     $2, %edx
    xor     %r10d, %r10d
    mov     $61, %eax
    syscall
    cmp     %rax, %r15
    jne     template_lost
    cmpb    $0x7f, 48(%r14)         /* WIFSTOPPED */
    jne     template_lost
    mov     %r15, %rax
template_reply:
    mov     %eax, 56(%r14)          /* write(sock, &reply, 4) */
    mov     (%r14), %rdi
    lea     56(%r14), %rsi
    mov     $4, %edx
    mov     $1, %eax
    syscall
    jmp     stub_template
template_lost:
    mov     %r15, %rdi              /* kill(pid, SIGKILL); reply -ECHILD */
    mov     $9, %esi
    mov     $62, %eax
    syscall
    mov     $-10, %rax
    jmp     template_reply
template_exit:
    xor     %edi, %edi              /* exit_group(0) */
    mov     $231, %eax
    syscall
    jmp     stub_fail

template_child:
    mov     $1, %edi                /* prctl(PR_SET_PDEATHSIG, SIGKILL) */
    mov     $9, %esi
    mov     $157, %eax
    syscall
    mov     $110, %eax              /* the template died before that: go */
    syscall
    cmp     32(%r14), %rax
    jne     template_exit
    mov     $39, %eax               /* getpid() */
    syscall
    cmp     16(%r14), %rax
    jae     2f
    mov     %rax, %r9               /* mmap(batch page, 4096, PROT_READ, MAP_SHARED | MAP_FIXED,
                                       batch fd, pid * 4096) */
    shl     $12, %r9
    mov     24(%r14), %rdi
    mov     $4096, %esi
    mov     $1, %edx
    mov     $0x11, %r10d
    mov     8(%r14), %r8
    mov     $9, %eax
    syscall
    cmp     24(%r14), %rax
    jne     stub_fail
2:
    mov     (%r14), %rdi            /* close(sock); close(batch fd) */
    mov     $3, %eax
    syscall
    mov     8(%r14), %rdi
    mov     $3, %eax
    syscall
    jmp     stub_stop

    .globl arch_stub_syscall
arch_stub_syscall:
    syscall
    int3

    .globl arch_stub_clone
arch_stub_clone:
    syscall
    test    %rax, %rax
    jz      arch_stub_park
    int3

    .globl arch_stub_batch
arch_stub_batch:
1:
    test    %r12, %r12
    jz      2f
    mov     (%rbx), %rax
    mov     8(%rbx), %rdi
    mov     16(%rbx), %rsi
    mov     24(%rbx), %rdx
    mov     32(%rbx), %r10
    mov     40(%rbx), %r8
    mov     48(%rbx), %r9
    syscall
    cmp     56(%rbx), %rax
    jne     3f
    add     $64, %rbx
    dec     %r12
    jmp     1b
2:
    xor     %eax, %eax
3:
    int3

    /* A stub thread nobody drives waits here (new, or given back when its guest thread ended). */
    .globl arch_stub_park
arch_stub_park:
    mov     $34, %eax               /* pause() until seized */
    syscall
    jmp     arch_stub_park

stub_fail:
    ud2

    .balign 4096
    .globl arch_stub_code_end
arch_stub_code_end:

    .section .note.GNU-stack, "", @progbits
