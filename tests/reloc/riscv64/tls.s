# elfjit relocation fixture: thread-local storage, local-exec (refused).
        .text
        .globl  tls_code
tls_code:
        lui     a5, %tprel_hi(tv)
        add     a5, a5, tp, %tprel_add(tv)
        lw      a0, %tprel_lo(tv)(a5)
        ret
        .section .tbss,"awT",@nobits
        .globl  tv
        .p2align 2
tv:     .zero   4
