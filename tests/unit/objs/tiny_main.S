/* main returning 0, with no relocation at all (no .eh_frame): a host
 * object whose e_machine a test rewrites to another architecture's stays
 * a valid object of that architecture (tests/unit/test_foreign.c). */
        .text
        .globl  main
        .type   main, @function
main:
#if defined(__x86_64__)
        xorl    %eax, %eax
        ret
#elif defined(__aarch64__)
        mov     w0, #0
        ret
#elif defined(__riscv)
        li      a0, 0
        ret
#else
#error "unsupported host"
#endif
        .size   main, .-main
        .section .note.GNU-stack,"",@progbits
