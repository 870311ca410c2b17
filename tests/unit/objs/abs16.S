/* A 16-bit absolute reference to the object's own data (x86_64 only;
 * other hosts assemble an empty object): an image holding it must lie
 * below 64 KiB, which a real link states instead of a range error
 * (tests/unit/test_reach.c). */
#if defined(__x86_64__)
        .data
        .globl  abs16_ref
abs16_ref:
        .word   abs16_target
abs16_target:
        .quad   0
#endif
        .section .note.GNU-stack,"",@progbits
