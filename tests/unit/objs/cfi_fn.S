/* A function with call-frame information on every architecture (the
 * assembler writes .eh_frame from the .cfi directives; riscv64's gcc
 * writes none for C unless asked): a link of it registers frames with the
 * unwinder (tests/unit/test_unwinder_retry.c). */
        .text
        .globl  cfi_fn
        .type   cfi_fn, @function
cfi_fn:
        .cfi_startproc
#if defined(__x86_64__)
        movl    $7, %eax
        ret
#elif defined(__aarch64__)
        mov     w0, #7
        ret
#elif defined(__riscv)
        li      a0, 7
        ret
#else
#error "unsupported host"
#endif
        .cfi_endproc
        .size   cfi_fn, .-cfi_fn
        .section .note.GNU-stack,"",@progbits
