/* Lp/libpref.so, next to Lp/libpref.a (../pref_static.c). */
int pref(void)
{
    return 10;
}
