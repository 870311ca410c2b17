/* Lp/libpref.a, next to Lp/libpref.so (special/pref_shared.c): -l pref
 * takes the .so, --static -l pref this one. */
int pref(void)
{
    return 20;
}
