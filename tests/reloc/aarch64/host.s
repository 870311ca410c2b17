// elfjit aarch64 fixture: a host function (host_fn, which the test's
// resolver points at a real function of the test process) called and
// addressed in every PC-relative way.  Far from the image, the address
// is its stub's; within reach, its own.
        .text
        .globl  h_adrp
h_adrp: adrp    x0, host_fn
        .globl  h_add
h_add:  add     x0, x0, :lo12:host_fn
        .globl  h_adr
h_adr:  adr     x1, host_fn
        .globl  h_call
h_call: bl      host_fn
        ret

        .data
        .p2align 3
        .globl  h_prel32
h_prel32:
        .word   host_fn - .
        .word   0xa5a5a5a5
