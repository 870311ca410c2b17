/* elfjit relocation fixture: the same function compiled for two ELF
 * header flag sets (e_flags: RVC or not, soft-float or double-float ABI),
 * named FN and calling OTHER, to link both together. */
extern int OTHER(int);

int FN(int x)
{
    return OTHER(x) + 1;
}
