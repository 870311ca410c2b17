/* A GNU C nested function whose address escapes needs a trampoline on an
 * executable stack: the assembler marks .note.GNU-stack executable. */
static int apply(int (*f)(int), int v) { return f(v); }
int execstack(int k)
{
    int add(int x) { return x + k; }
    return apply(add, 1);
}
