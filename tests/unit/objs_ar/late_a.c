/* liblate_a.a.  dup_late is needed only once late_trig.o (liblate_b.a, or
 * liblate_c.a: the same members in the other order) has been pulled; the
 * archive that pulled it defines it too (late_b.o).  Which definition is
 * taken must not depend on the order of the members in that archive:
 * GNU ld (plain or --start-group), and elfjit, take the pulling archive's
 * late_b.o in both cases, since they rescan one archive until it loads
 * nothing before moving on; lld takes the first archive's (this one).  See
 * test_archive.c, LATE_EXPECTED. */
int dup_late(void)
{
    return 1;
}
