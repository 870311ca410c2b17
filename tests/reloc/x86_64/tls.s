# Thread-local storage, local-exec model: `movl %fs:tv@tpoff, %eax` carries
# R_X86_64_TPOFF32 against tv, which elfjit refuses (EJ_UNSUPPORTED).
        .section .tbss, "awT", @nobits
        .p2align 2
        .globl  tv
        .type   tv, @object
tv:
        .zero   4
        .size   tv, 4

        .text
        .globl  get_tv
        .type   get_tv, @function
get_tv:
        movl    %fs:tv@tpoff, %eax
        ret
        .size   get_tv, .-get_tv
