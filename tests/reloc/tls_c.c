/* elfjit relocation fixture: thread-local storage from C, compiled with
 * several flag sets (see the CMakeLists.txt files). */
__thread long tl_data = 0x1122334455667788;
__thread int tl_bss;
static __thread int tl_static = 3;
static __thread char tl_static_bss[40];
extern __thread int tl_other;
__attribute__((tls_model("initial-exec"))) __thread int tl_ie = 4;
__attribute__((tls_model("local-exec"))) __thread int tl_le;
#ifndef EJ_NO_DYN_MODELS
#define LD_ATTR __attribute__((tls_model("local-dynamic")))
#define GD_ATTR __attribute__((tls_model("global-dynamic")))
#else
#define LD_ATTR
#define GD_ATTR
#endif
LD_ATTR __thread int tl_ld1 = 5;
LD_ATTR __thread int tl_ld2;
GD_ATTR __thread long tl_gd[3] = {6, 7, 8};
extern __thread int tl_other_ie __attribute__((tls_model("initial-exec")));

long get_data(void) { return tl_data; }
int *addr_bss(void) { return &tl_bss; }
int bump_static(void) { return ++tl_static; }
char *addr_static_bss(void) { return tl_static_bss + 5; }
int get_static_sum(void) { return tl_static + tl_static_bss[7]; }
int get_other(void) { return tl_other; }
int get_other_ie(void) { return tl_other_ie; }
int get_ie(void) { return tl_ie; }
void set_le(int v) { tl_le = v; }
int get_ld(void) { return tl_ld1 + tl_ld2; }
long get_gd(int i) { return tl_gd[i]; }
