# An absolute symbol (SHN_ABS) low in the address space, for a real link
# whose image must be placed within reach of it.
        .globl  abs_low
        .set    abs_low, 0x1234
