/* Large alignments and a large .bss. */
_Alignas(8192) char aligned8k[100] = {1};
__attribute__((aligned(65536))) char aligned64k[10];
static char big_bss[256u << 20];
char *align_big(void) { return big_bss; }
long align_touch(void)
{
    long sum = 0;
    for (unsigned i = 0; i < sizeof big_bss; i += 64u << 20) {
        big_bss[i] = 1;
        sum += big_bss[i];
    }
    return sum;
}
