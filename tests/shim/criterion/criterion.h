/* A small Criterion-compatible test framework for the places where the real
 * Criterion cannot be used: under qemu-user without binfmt_misc (Criterion's
 * BoxFort sandbox re-executes the test binary, which the emulated process
 * cannot exec), and where no Criterion package exists for the target
 * (riscv64 on Debian 12).  tests/CMakeLists.txt picks it; see
 * tests/shim/README.md.
 *
 * It implements the subset of Criterion 2.4's C API that elfjit's tests use,
 * with the same spelling and meaning:
 *   Test(Suite, Name, .init, .fini, .timeout, .disabled, .signal,
 *        .exit_code, .description), TestSuite(Name, ...),
 *   ParameterizedTest / ParameterizedTestParameters / cr_make_param_array,
 *   cr_malloc / cr_calloc / cr_realloc / cr_free,
 *   cr_assert* / cr_expect* (the classic API: plain, not, eq, neq, lt, leq,
 *   gt, geq, null, not_null, zero, not_zero, str_*, arr_eq/neq, float_eq/neq,
 *   fail), cr_assume*, cr_skip / cr_skip_test,
 *   cr_log / cr_log_info / cr_log_warn / cr_log_error,
 *   cr_redirect_stdout/stderr with cr_{assert,expect}_{stdout,stderr}_{eq,neq}_str
 *   and cr_{assert,expect}_file_contents_{eq,neq}_str.
 * Each test (each parameter of a parameterized test) runs in its own forked
 * process, as with Criterion; the runner (tests/shim/criterion.c, which
 * provides main) accepts --jobs=N, --verbose, --filter=SUITE/NAME-GLOB and
 * --list, prints Criterion's "[FAIL]"/"[SKIP]" lines and closes with
 * Criterion's line "[====] Synthesis: Tested: N | Passing: N | Failing: N |
 * Crashing: N", exiting non-zero when a test failed. */
#ifndef EJ_CRITERION_SHIM_H
#define EJ_CRITERION_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EJ_CRITERION_SHIM 1

#define EJCR_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* ---- registration ------------------------------------------------------- */

struct criterion_test_params {
    size_t size;
    void *params;
    size_t length;
    void (*cleanup)(struct criterion_test_params *);
};

struct ejcr_test {
    const char *suite, *name, *file;
    int line;
    void (*fn)(void);                             /* plain test */
    void (*pfn)(void *);                          /* parameterized test */
    struct criterion_test_params (*params)(void); /* its parameters */
    /* Criterion's test options. */
    void (*init)(void);
    void (*fini)(void);
    double timeout;
    bool disabled;
    int signal;
    int exit_code;
    const char *description;
    int sentinel_;
    struct ejcr_test *next;
};

struct ejcr_suite {
    const char *name;
    void (*init)(void);
    void (*fini)(void);
    double timeout;
    bool disabled;
    int signal;
    int exit_code;
    const char *description;
    int sentinel_;
    struct ejcr_suite *next;
};

void ejcr_register(struct ejcr_test *t);
void ejcr_register_suite(struct ejcr_suite *s);

#define EJCR_CAT_(a, b) a##b
#define EJCR_ID(kind, Suite, Name) EJCR_CAT_(ejcr_##kind##_##Suite##_, Name)

#define Test(...) EJCR_TEST_(__VA_ARGS__, .sentinel_ = 0)
#define EJCR_TEST_(Suite, Name, ...)                                                  \
    static void EJCR_ID(fn, Suite, Name)(void);                                       \
    static struct ejcr_test EJCR_ID(t, Suite, Name) = {                               \
        .suite = #Suite, .name = #Name, .file = __FILE__, .line = __LINE__,           \
        .fn = EJCR_ID(fn, Suite, Name), __VA_ARGS__};                                 \
    __attribute__((constructor)) static void EJCR_ID(reg, Suite, Name)(void)          \
    {                                                                                 \
        ejcr_register(&EJCR_ID(t, Suite, Name));                                      \
    }                                                                                 \
    static void EJCR_ID(fn, Suite, Name)(void)

#define TestSuite(...) EJCR_SUITE_(__VA_ARGS__, .sentinel_ = 0)
#define EJCR_SUITE_(Name, ...)                                                        \
    static struct ejcr_suite ejcr_suite_##Name = {.name = #Name, __VA_ARGS__};        \
    __attribute__((constructor)) static void ejcr_suite_reg_##Name(void)              \
    {                                                                                 \
        ejcr_register_suite(&ejcr_suite_##Name);                                      \
    }                                                                                 \
    struct ejcr_suite_semicolon_##Name

#define ParameterizedTestParameters(Suite, Name)                                      \
    static struct criterion_test_params EJCR_ID(params, Suite, Name)(void);           \
    static struct criterion_test_params EJCR_ID(params, Suite, Name)(void)

#define ParameterizedTest(...) EJCR_PTEST_(__VA_ARGS__, .sentinel_ = 0)
#define EJCR_PTEST_(Param, Suite, Name, ...)                                          \
    static struct criterion_test_params EJCR_ID(params, Suite, Name)(void);           \
    static void EJCR_ID(fn, Suite, Name)(Param);                                      \
    static void EJCR_ID(pw, Suite, Name)(void *ejcr_p) { EJCR_ID(fn, Suite, Name)(ejcr_p); } \
    static struct ejcr_test EJCR_ID(t, Suite, Name) = {                               \
        .suite = #Suite, .name = #Name, .file = __FILE__, .line = __LINE__,           \
        .pfn = EJCR_ID(pw, Suite, Name), .params = EJCR_ID(params, Suite, Name),      \
        __VA_ARGS__};                                                                 \
    __attribute__((constructor)) static void EJCR_ID(reg, Suite, Name)(void)          \
    {                                                                                 \
        ejcr_register(&EJCR_ID(t, Suite, Name));                                      \
    }                                                                                 \
    static void EJCR_ID(fn, Suite, Name)(Param)

/* cr_make_param_array(Type, Array, Len[, Cleanup]) */
#define cr_make_param_array(Type, ...)                                                \
    ((struct criterion_test_params){.size = sizeof(Type), (void *)__VA_ARGS__})

/* Parameters are made in the runner before the test processes fork, so
 * plain heap memory reaches every test. */
#define cr_malloc(n) malloc(n)
#define cr_calloc(n, s) calloc(n, s)
#define cr_realloc(p, n) realloc(p, n)
#define cr_free(p) free(p)

/* ---- assertions ----------------------------------------------------------- */

/* FMT is "x" followed by the user's optional format (Criterion's own trick
 * for an optional format string); DEFMSG is used when the user gave none. */
void ejcr_check_fail(int fatal, const char *file, int line, const char *defmsg,
                     const char *fmt, ...) EJCR_PRINTF(5, 6);
void ejcr_check_fail_str(int fatal, const char *file, int line, const char *expr,
                         const char *actual, const char *expected, const char *fmt, ...)
    EJCR_PRINTF(7, 8);
void ejcr_count_pass(void);
_Noreturn void ejcr_skip(const char *fmt, ...) EJCR_PRINTF(1, 2);

#define EJCR_CHECK_(Fatal, Cond, DefMsg, ...)                                          \
    do {                                                                              \
        if (Cond)                                                                     \
            ejcr_count_pass();                                                        \
        else                                                                          \
            ejcr_check_fail(Fatal, __FILE__, __LINE__, DefMsg, "x" __VA_ARGS__);       \
    } while (0)

#define EJCR_EXPR_(Fatal, Cond, Str, ...)                                              \
    EJCR_CHECK_(Fatal, Cond, "The expression " Str " is false.", __VA_ARGS__)
#define EJCR_OP_(Fatal, Op, A, E, ...)                                                 \
    EJCR_EXPR_(Fatal, (A)Op(E), "(" #A ") " #Op " (" #E ")", __VA_ARGS__)

#define cr_assert(Cond, ...) EJCR_EXPR_(1, Cond, #Cond, __VA_ARGS__)
#define cr_expect(Cond, ...) EJCR_EXPR_(0, Cond, #Cond, __VA_ARGS__)
#define cr_assert_not(Cond, ...) EJCR_EXPR_(1, !(Cond), "!(" #Cond ")", __VA_ARGS__)
#define cr_expect_not(Cond, ...) EJCR_EXPR_(0, !(Cond), "!(" #Cond ")", __VA_ARGS__)

#define cr_assert_fail(...)                                                            \
    EJCR_CHECK_(1, 0, "The conditions for this assertion were not met.", __VA_ARGS__)
#define cr_expect_fail(...)                                                            \
    EJCR_CHECK_(0, 0, "The conditions for this assertion were not met.", __VA_ARGS__)

#define cr_assert_eq(A, E, ...) EJCR_OP_(1, ==, A, E, __VA_ARGS__)
#define cr_expect_eq(A, E, ...) EJCR_OP_(0, ==, A, E, __VA_ARGS__)
#define cr_assert_neq(A, E, ...) EJCR_OP_(1, !=, A, E, __VA_ARGS__)
#define cr_expect_neq(A, E, ...) EJCR_OP_(0, !=, A, E, __VA_ARGS__)
#define cr_assert_lt(A, E, ...) EJCR_OP_(1, <, A, E, __VA_ARGS__)
#define cr_expect_lt(A, E, ...) EJCR_OP_(0, <, A, E, __VA_ARGS__)
#define cr_assert_leq(A, E, ...) EJCR_OP_(1, <=, A, E, __VA_ARGS__)
#define cr_expect_leq(A, E, ...) EJCR_OP_(0, <=, A, E, __VA_ARGS__)
#define cr_assert_gt(A, E, ...) EJCR_OP_(1, >, A, E, __VA_ARGS__)
#define cr_expect_gt(A, E, ...) EJCR_OP_(0, >, A, E, __VA_ARGS__)
#define cr_assert_geq(A, E, ...) EJCR_OP_(1, >=, A, E, __VA_ARGS__)
#define cr_expect_geq(A, E, ...) EJCR_OP_(0, >=, A, E, __VA_ARGS__)

#define cr_assert_null(V, ...) EJCR_CHECK_(1, (V) == NULL, #V " is not null.", __VA_ARGS__)
#define cr_expect_null(V, ...) EJCR_CHECK_(0, (V) == NULL, #V " is not null.", __VA_ARGS__)
#define cr_assert_not_null(V, ...) EJCR_CHECK_(1, (V) != NULL, #V " is null.", __VA_ARGS__)
#define cr_expect_not_null(V, ...) EJCR_CHECK_(0, (V) != NULL, #V " is null.", __VA_ARGS__)
#define cr_assert_zero(V, ...) EJCR_EXPR_(1, (V) == 0, "(" #V ") == 0", __VA_ARGS__)
#define cr_expect_zero(V, ...) EJCR_EXPR_(0, (V) == 0, "(" #V ") == 0", __VA_ARGS__)
#define cr_assert_not_zero(V, ...) EJCR_EXPR_(1, (V) != 0, "(" #V ") != 0", __VA_ARGS__)
#define cr_expect_not_zero(V, ...) EJCR_EXPR_(0, (V) != 0, "(" #V ") != 0", __VA_ARGS__)

#define cr_assert_float_eq(A, E, Eps, ...)                                             \
    EJCR_EXPR_(1, (A) - (E) <= (Eps) && (E) - (A) <= (Eps),                            \
               "(" #A ") == (" #E ") within " #Eps, __VA_ARGS__)
#define cr_expect_float_eq(A, E, Eps, ...)                                             \
    EJCR_EXPR_(0, (A) - (E) <= (Eps) && (E) - (A) <= (Eps),                            \
               "(" #A ") == (" #E ") within " #Eps, __VA_ARGS__)
#define cr_assert_float_neq(A, E, Eps, ...)                                            \
    EJCR_EXPR_(1, (A) - (E) > (Eps) || (E) - (A) > (Eps),                              \
               "(" #A ") != (" #E ") within " #Eps, __VA_ARGS__)
#define cr_expect_float_neq(A, E, Eps, ...)                                            \
    EJCR_EXPR_(0, (A) - (E) > (Eps) || (E) - (A) > (Eps),                              \
               "(" #A ") != (" #E ") within " #Eps, __VA_ARGS__)

#define cr_assert_arr_eq(A, E, Size, ...)                                              \
    EJCR_EXPR_(1, memcmp((A), (E), (Size)) == 0, "(" #A ")[0.." #Size "] == (" #E ")",  \
               __VA_ARGS__)
#define cr_expect_arr_eq(A, E, Size, ...)                                              \
    EJCR_EXPR_(0, memcmp((A), (E), (Size)) == 0, "(" #A ")[0.." #Size "] == (" #E ")",  \
               __VA_ARGS__)
#define cr_assert_arr_neq(A, E, Size, ...)                                             \
    EJCR_EXPR_(1, memcmp((A), (E), (Size)) != 0, "(" #A ")[0.." #Size "] != (" #E ")",  \
               __VA_ARGS__)
#define cr_expect_arr_neq(A, E, Size, ...)                                             \
    EJCR_EXPR_(0, memcmp((A), (E), (Size)) != 0, "(" #A ")[0.." #Size "] != (" #E ")",  \
               __VA_ARGS__)

/* Strings: the message shows both values, as Criterion's does. */
#define EJCR_STR_OP_(Fatal, Op, A, E, ...)                                             \
    do {                                                                              \
        const char *ejcr_a_ = (A), *ejcr_e_ = (E);                                    \
        if (ejcr_a_ && ejcr_e_ && strcmp(ejcr_a_, ejcr_e_) Op 0)                      \
            ejcr_count_pass();                                                        \
        else                                                                          \
            ejcr_check_fail_str(Fatal, __FILE__, __LINE__, "(" #A ") " #Op " (" #E ")", \
                                ejcr_a_, ejcr_e_, "x" __VA_ARGS__);                    \
    } while (0)
#define cr_assert_str_eq(A, E, ...) EJCR_STR_OP_(1, ==, A, E, __VA_ARGS__)
#define cr_expect_str_eq(A, E, ...) EJCR_STR_OP_(0, ==, A, E, __VA_ARGS__)
#define cr_assert_str_neq(A, E, ...) EJCR_STR_OP_(1, !=, A, E, __VA_ARGS__)
#define cr_expect_str_neq(A, E, ...) EJCR_STR_OP_(0, !=, A, E, __VA_ARGS__)
#define cr_assert_str_lt(A, E, ...) EJCR_STR_OP_(1, <, A, E, __VA_ARGS__)
#define cr_expect_str_lt(A, E, ...) EJCR_STR_OP_(0, <, A, E, __VA_ARGS__)
#define cr_assert_str_leq(A, E, ...) EJCR_STR_OP_(1, <=, A, E, __VA_ARGS__)
#define cr_expect_str_leq(A, E, ...) EJCR_STR_OP_(0, <=, A, E, __VA_ARGS__)
#define cr_assert_str_gt(A, E, ...) EJCR_STR_OP_(1, >, A, E, __VA_ARGS__)
#define cr_expect_str_gt(A, E, ...) EJCR_STR_OP_(0, >, A, E, __VA_ARGS__)
#define cr_assert_str_geq(A, E, ...) EJCR_STR_OP_(1, >=, A, E, __VA_ARGS__)
#define cr_expect_str_geq(A, E, ...) EJCR_STR_OP_(0, >=, A, E, __VA_ARGS__)
/* (A function: an array argument would make `(S) &&` always true, which
 * -Waddress refuses.) */
static inline int ejcr_str_empty(const char *s)
{
    return s && !*s;
}
static inline int ejcr_str_filled(const char *s)
{
    return s && *s;
}
#define cr_assert_str_empty(S, ...)                                                    \
    EJCR_CHECK_(1, ejcr_str_empty(S), #S " is not empty.", __VA_ARGS__)
#define cr_expect_str_empty(S, ...)                                                    \
    EJCR_CHECK_(0, ejcr_str_empty(S), #S " is not empty.", __VA_ARGS__)
#define cr_assert_str_not_empty(S, ...)                                                \
    EJCR_CHECK_(1, ejcr_str_filled(S), #S " is empty.", __VA_ARGS__)
#define cr_expect_str_not_empty(S, ...)                                                \
    EJCR_CHECK_(0, ejcr_str_filled(S), #S " is empty.", __VA_ARGS__)

/* ---- skipping ------------------------------------------------------------- */

#define cr_skip_test(...) ejcr_skip("x" __VA_ARGS__)
#define cr_skip(...) ejcr_skip("x" __VA_ARGS__)
#define criterion_skip_test(...) ejcr_skip("x" __VA_ARGS__)
#define cr_assume(Cond, ...)                                                           \
    do {                                                                              \
        if (!(Cond))                                                                  \
            ejcr_skip("x" __VA_ARGS__);                                               \
    } while (0)
#define cr_assume_not(Cond, ...) cr_assume(!(Cond), __VA_ARGS__)

/* ---- logging -------------------------------------------------------------- */

enum criterion_severity { CR_LOG_INFO, CR_LOG_WARNING, CR_LOG_ERROR };
void ejcr_log(enum criterion_severity sev, const char *fmt, ...) EJCR_PRINTF(2, 3);
#define cr_log(Severity, ...) ejcr_log(Severity, __VA_ARGS__)
#define cr_log_info(...) ejcr_log(CR_LOG_INFO, __VA_ARGS__)
#define cr_log_warn(...) ejcr_log(CR_LOG_WARNING, __VA_ARGS__)
#define cr_log_error(...) ejcr_log(CR_LOG_ERROR, __VA_ARGS__)

/* ---- redirected standard streams (criterion/redirect.h) ------------------- */

void cr_redirect_stdout(void);
void cr_redirect_stderr(void);
FILE *cr_get_redirected_stdout(void);
FILE *cr_get_redirected_stderr(void);
/* Returns 1 when the whole content of the redirected stream (1 = stdout,
 * 2 = stderr) or of FILE equals STR. */
int ejcr_stream_equals(int fd, const char *str);
int ejcr_file_equals(FILE *f, const char *str);

#define EJCR_STREAM_(Fatal, Want, Fd, Msg, Str, ...)                                   \
    EJCR_CHECK_(Fatal, ejcr_stream_equals(Fd, Str) == (Want), Msg " the string " #Str ".", \
                __VA_ARGS__)
#define cr_assert_stdout_eq_str(S, ...)                                                \
    EJCR_STREAM_(1, 1, 1, "The contents of stdout do not match", S, __VA_ARGS__)
#define cr_expect_stdout_eq_str(S, ...)                                                \
    EJCR_STREAM_(0, 1, 1, "The contents of stdout do not match", S, __VA_ARGS__)
#define cr_assert_stdout_neq_str(S, ...)                                               \
    EJCR_STREAM_(1, 0, 1, "The contents of stdout match", S, __VA_ARGS__)
#define cr_expect_stdout_neq_str(S, ...)                                               \
    EJCR_STREAM_(0, 0, 1, "The contents of stdout match", S, __VA_ARGS__)
#define cr_assert_stderr_eq_str(S, ...)                                                \
    EJCR_STREAM_(1, 1, 2, "The contents of stderr do not match", S, __VA_ARGS__)
#define cr_expect_stderr_eq_str(S, ...)                                                \
    EJCR_STREAM_(0, 1, 2, "The contents of stderr do not match", S, __VA_ARGS__)
#define cr_assert_stderr_neq_str(S, ...)                                               \
    EJCR_STREAM_(1, 0, 2, "The contents of stderr match", S, __VA_ARGS__)
#define cr_expect_stderr_neq_str(S, ...)                                               \
    EJCR_STREAM_(0, 0, 2, "The contents of stderr match", S, __VA_ARGS__)
#define cr_assert_file_contents_eq_str(F, S, ...)                                      \
    EJCR_CHECK_(1, ejcr_file_equals(F, S), "The contents of " #F " do not match " #S ".", \
                __VA_ARGS__)
#define cr_expect_file_contents_eq_str(F, S, ...)                                      \
    EJCR_CHECK_(0, ejcr_file_equals(F, S), "The contents of " #F " do not match " #S ".", \
                __VA_ARGS__)
#define cr_assert_file_contents_neq_str(F, S, ...)                                     \
    EJCR_CHECK_(1, !ejcr_file_equals(F, S), "The contents of " #F " match " #S ".",    \
                __VA_ARGS__)
#define cr_expect_file_contents_neq_str(F, S, ...)                                     \
    EJCR_CHECK_(0, !ejcr_file_equals(F, S), "The contents of " #F " match " #S ".",    \
                __VA_ARGS__)

#endif /* EJ_CRITERION_SHIM_H */
