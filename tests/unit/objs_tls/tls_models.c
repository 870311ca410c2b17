/* Thread-local variables in every access model, for test_tls.c.
 *
 * Built in several variants (tests/CMakeLists.txt, EJ_UNIT_TLS_OBJS):
 * -fno-pic, -fPIC, and the target's other TLS dialect (x86_64 TLS
 * descriptors, aarch64 traditional __tls_get_addr).  The variables named
 * after a model carry it as an attribute, whatever the flags; the dflt_*
 * and sdflt_* ones take the model the flags give (global / static).
 * With TLS_DYNAMIC_ONLY the le_* and ie_* variables take the flags' model
 * too, so that no code needs static TLS (elfjit may still relax the
 * dynamic code to initial-exec and ask for static TLS, as ld does in an
 * executable).  TLS_FORCE_DYNAMIC adds a variable aligned beyond what the
 * C library's static TLS can hold, so the block stays dynamic and the code
 * keeps its model.
 *
 * For each model M: M_init (in .tdata, initial value INIT_M) and M_zero
 * (in .tbss), and the accessors M_get_init, M_get_zero (read), M_bump_init,
 * M_bump_zero (++, returns the new value) and M_addr_init, M_addr_zero (the
 * calling thread's address).  Each accessor is its own code, so that each
 * access is its own relocation of the model. */
#define MODEL(m) __attribute__((tls_model(m)))
#ifdef TLS_DYNAMIC_ONLY
#define STATIC_MODEL(m)
#else
#define STATIC_MODEL(m) MODEL(m)
#endif

#define ACCESSORS(M)                                                          \
    int M##_get_init(void) { return M##_init; }                               \
    int M##_get_zero(void) { return M##_zero; }                               \
    int M##_bump_init(void) { return ++M##_init; }                            \
    int M##_bump_zero(void) { return ++M##_zero; }                            \
    int *M##_addr_init(void) { return &M##_init; }                            \
    int *M##_addr_zero(void) { return &M##_zero; }

__thread int le_init STATIC_MODEL("local-exec") = 101;
__thread int le_zero STATIC_MODEL("local-exec");
ACCESSORS(le)

__thread int ie_init STATIC_MODEL("initial-exec") = 102;
__thread int ie_zero STATIC_MODEL("initial-exec");
ACCESSORS(ie)

__thread int gd_init MODEL("global-dynamic") = 103;
__thread int gd_zero MODEL("global-dynamic");
ACCESSORS(gd)

/* Local-dynamic is for variables of this module only. */
static __thread int ld_init MODEL("local-dynamic") = 104;
static __thread int ld_zero MODEL("local-dynamic");
ACCESSORS(ld)

__thread int dflt_init = 105;
__thread int dflt_zero;
ACCESSORS(dflt)

static __thread int sdflt_init = 106;
static __thread int sdflt_zero;
ACCESSORS(sdflt)

#ifdef TLS_FORCE_DYNAMIC
__thread char tls_force_dynamic[8] __attribute__((aligned(4096))) = {1};
#endif

/* Looked up by name (ej_module_symbol of a thread-local variable). */
__thread int tls_exported = 1234;
__thread long long tls_exported_zero[4];

/* A bigger .tdata: its bytes must arrive in every thread intact. */
__thread unsigned char tls_pattern[256] = {
#define B(v) (unsigned char)((v) & 0xff)
#define P4(i) B((i) * 7 + 1), B((i) * 7 + 2), B((i) * 7 + 3), B((i) * 7 + 4)
#define P16(i) P4(i), P4(i + 1), P4(i + 2), P4(i + 3)
    P16(0), P16(4), P16(8), P16(12), P16(16), P16(20), P16(24), P16(28),
    P16(32), P16(36), P16(40), P16(44), P16(48), P16(52), P16(56), P16(60),
};

/* 0 when this thread's tls_pattern holds its initial bytes, else the index
 * of the first wrong byte + 1. */
int tls_pattern_check(void)
{
    for (int i = 0; i < 256; i++)
        if (tls_pattern[i] != (unsigned char)(((i / 4) * 7 + 1 + i % 4) & 0xff))
            return i + 1;
    return 0;
}
