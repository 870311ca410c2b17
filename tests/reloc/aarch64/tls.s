// elfjit aarch64 fixture: thread-local storage (refused for now), the
// local-exec and initial-exec sequences a compiler emits.
        .text
        .globl  get_tv
get_tv:
        mrs     x0, tpidr_el0
        add     x0, x0, #:tprel_hi12:tv, lsl #12
        add     x0, x0, #:tprel_lo12_nc:tv
        ret

        .globl  get_ext_tv
get_ext_tv:
        mrs     x1, tpidr_el0
        adrp    x0, :gottprel:ext_tv
        ldr     x0, [x0, #:gottprel_lo12:ext_tv]
        add     x0, x0, x1
        ret

        .section .tbss, "awT", %nobits
        .p2align 2
        .globl  tv
        .type   tv, %object
tv:     .zero   4
        .size   tv, 4
