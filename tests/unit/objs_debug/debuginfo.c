/* Enough code for non-trivial DWARF; compiled with and without -gz=zlib. */
struct point { int x, y; };
static int scale = 3;
int dot(struct point a, struct point b) { return (a.x * b.x + a.y * b.y) * scale; }
int sum_to(int n)
{
    int s = 0;
    for (int i = 0; i <= n; i++)
        s += i;
    return s;
}
