# The same COMDAT group in two objects: one copy must be kept.
    .section .text.shared_fn,"axG",@progbits,shared_fn,comdat
    .globl shared_fn
    .type shared_fn,@function
shared_fn:
    movl $11, %eax
    ret
    .text
    .globl comdat_a
comdat_a:
    jmp shared_fn
    .section .note.GNU-stack,"",@progbits
