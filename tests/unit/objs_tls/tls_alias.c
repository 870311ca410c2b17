/* Another object's view of tls_models.c's variables, through one access
 * model for all of them: built three times (tests/CMakeLists.txt) with
 * ALIAS_LE, ALIAS_IE or ALIAS_GD, giving alias_le_*, alias_ie_* or
 * alias_gd_*.  Linked into one module with a tls_models variant, every
 * model must find the same per-thread address for one variable. */
#if defined(ALIAS_LE)
#define ATTR __attribute__((tls_model("local-exec")))
#define NAME(v) alias_le_##v
#elif defined(ALIAS_IE)
#define ATTR __attribute__((tls_model("initial-exec")))
#define NAME(v) alias_ie_##v
#elif defined(ALIAS_GD)
#define ATTR __attribute__((tls_model("global-dynamic")))
#define NAME(v) alias_gd_##v
#else
#error "define ALIAS_LE, ALIAS_IE or ALIAS_GD"
#endif

extern __thread int le_init ATTR, ie_init ATTR, gd_init ATTR, dflt_init ATTR,
    dflt_zero ATTR, tls_exported ATTR;

int *NAME(le_init)(void) { return &le_init; }
int *NAME(ie_init)(void) { return &ie_init; }
int *NAME(gd_init)(void) { return &gd_init; }
int *NAME(dflt_init)(void) { return &dflt_init; }
int *NAME(dflt_zero)(void) { return &dflt_zero; }
int *NAME(tls_exported)(void) { return &tls_exported; }
