/* elfjit relocation fixture: PCREL_LO12_I/S paired with their PCREL_HI20
 * or GOT_HI20 by address, not by position in the relocation table.
 *
 *   - two LO12s (I and S) come before their high part, 32 bytes of code
 *     away: first in the table, the high part later;
 *   - two pairs interleave (hi a, hi b, lo b, lo a, lo a, lo b);
 *   - a GOT_HI20 whose LO12 is 16 bytes further on.
 *
 * Assembled twice: as is (relaxation on, R_RISCV_RELAX after every high
 * part and LO12) and with -DNORELAX (no markers).
 *
 * The `check:` lines (harness.c; `//` comments, which cpp removes before
 * the assembler sees them) hold for both objects: decode_pcrel(hi, lo) /
 * decode_pcrel_s(hi, lo) is the address the auipc at HI and the I-type
 * (S-type) user at LO compute; pext is the resolver's (far away). */
#ifdef NORELAX
        .option norelax
#endif
        .text
        .globl  pair_start
pair_start:
        .globl  p_lo_first_i
p_lo_first_i:
        addi    a0, a0, %pcrel_lo(.Lhi_late)
        .globl  p_lo_first_s
p_lo_first_s:
        sd      a1, %pcrel_lo(.Lhi_late)(a0)
        .rept   8
        addi    zero, zero, 0
        .endr
        .globl  p_hi_late
p_hi_late:
.Lhi_late:
        auipc   a0, %pcrel_hi(pdata+0x7f8)
// LO12s before their high part in the table and in the code.
// check: decode_pcrel(p_hi_late, p_lo_first_i) == pdata + 0x7f8
// check: decode_pcrel_s(p_hi_late, p_lo_first_s) == pdata + 0x7f8
// check: read32(p_lo_first_s) & 0x01fff07f == 0x00b53023

        .globl  p_hi_a
p_hi_a:
.Lha:   auipc   a2, %pcrel_hi(pdata+0x10)
        .globl  p_hi_b
p_hi_b:
.Lhb:   auipc   a3, %pcrel_hi(pbig+0x804)
        .globl  p_lo_b
p_lo_b: ld      a3, %pcrel_lo(.Lhb)(a3)
        .globl  p_lo_a
p_lo_a: lw      a2, %pcrel_lo(.Lha)(a2)
        .globl  p_lo_a_s
p_lo_a_s:
        sw      a4, %pcrel_lo(.Lha)(a2)
        .globl  p_lo_b2
p_lo_b2:
        addi    a5, a3, %pcrel_lo(.Lhb)
// Interleaved pairs: each LO12 follows its own high part; the registers
// are untouched.
// check: decode_pcrel(p_hi_a, p_lo_a) == pdata + 0x10
// check: decode_pcrel_s(p_hi_a, p_lo_a_s) == pdata + 0x10
// check: decode_pcrel(p_hi_b, p_lo_b) == pbig + 0x804
// check: decode_pcrel(p_hi_b, p_lo_b2) == pbig + 0x804
// check: read32(p_lo_a) & 0xfffff == 0x62603
// check: read32(p_lo_b) & 0xfffff == 0x6b683

        .globl  p_hi_got
p_hi_got:
.Lhg:   auipc   a5, %got_pcrel_hi(pext)
        .rept   4
        addi    zero, zero, 0
        .endr
        .globl  p_lo_got
p_lo_got:
        ld      a5, %pcrel_lo(.Lhg)(a5)
// GOT_HI20 with a distant LO12: a slot in the image holding pext.
// check: in_image(decode_pcrel(p_hi_got, p_lo_got), 8)
// check: read64(decode_pcrel(p_hi_got, p_lo_got)) == pext
        ret

        .data
        .globl  pdata
pdata:  .space  0x1000
        .globl  pbig
pbig:   .space  0x2000
