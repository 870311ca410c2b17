/* The same COMDAT group in two objects: one copy must be kept.  comdat_a.S
 * and comdat_b.S differ only in the value shared_fn returns (11 and 22);
 * the instructions are the host architecture's. */
    .section .text.shared_fn,"axG",%progbits,shared_fn,comdat
    .globl shared_fn
    .type shared_fn,%function
shared_fn:
#if defined(__x86_64__)
    movl $22, %eax
    ret
#elif defined(__aarch64__)
    mov w0, #22
    ret
#elif defined(__riscv)
    li a0, 22
    ret
#else
#error "comdat_b.S: no instructions for this architecture"
#endif
    .size shared_fn, .-shared_fn

    .text
    .globl comdat_b
    .type comdat_b,%function
comdat_b:
#if defined(__x86_64__)
    jmp shared_fn
#elif defined(__aarch64__)
    b shared_fn
#elif defined(__riscv)
    tail shared_fn
#endif
    .size comdat_b, .-comdat_b
    .section .note.GNU-stack,"",%progbits
