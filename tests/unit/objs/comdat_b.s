    .section .text.shared_fn,"axG",@progbits,shared_fn,comdat
    .globl shared_fn
    .type shared_fn,@function
shared_fn:
    movl $22, %eax
    ret
    .text
    .globl comdat_b
comdat_b:
    jmp shared_fn
    .section .note.GNU-stack,"",@progbits
