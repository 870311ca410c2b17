/* Entries gathered with __start_/__stop_ across objects. */
struct entry { const char *name; int value; };
#define ENTRY(n, v) static const struct entry n __attribute__((used, section("ej_registry"))) = {#n, v}
ENTRY(first, 1);
ENTRY(second, 2);
extern const struct entry __start_ej_registry[], __stop_ej_registry[];
int registry_sum(void)
{
    int sum = 0;
    for (const struct entry *e = __start_ej_registry; e < __stop_ej_registry; e++)
        sum += e->value;
    return sum;
}
int registry_count(void) { return (int)(__stop_ej_registry - __start_ej_registry); }
