/* libweak.a: referenced weakly by use_weak.o (which must not pull it) and
 * strongly by use_strong.o (which must). */
int weak_target(void)
{
    return 5;
}
