/* elfjit — status codes.
 *
 * Every fallible elfjit call returns an ej_status.  EJ_OK is zero; every
 * failure is a distinct positive code naming the class of failure.  The
 * detailed message (object, section, offset, relocation type, symbol, value
 * and range) lives on the handle the call was made on: see
 * ej_linker_errmsg() and ej_module_errmsg().
 *
 * The codes, their names and their one-line descriptions are generated from
 * the single list below, so they cannot drift apart.
 */
#ifndef ELFJIT_STATUS_H
#define ELFJIT_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(code, name suffix, description) */
#define EJ_STATUS_MAP(X)                                                      \
    X(0, OK, "success")                                                       \
    X(1, NOMEM, "out of memory")                                              \
    X(2, INVAL, "invalid argument")                                           \
    X(3, IO, "input/output error")                                            \
    X(4, BADELF, "malformed ELF object")                                      \
    X(5, UNSUPPORTED, "unsupported feature")                                  \
    X(6, UNDEFINED, "undefined symbol")                                       \
    X(7, DUPLICATE, "duplicate symbol definition")                            \
    X(8, RANGE, "relocation target out of range")                             \
    X(9, MAP, "cannot map or protect code memory")                            \
    X(10, NOTFOUND, "not found")                                              \
    X(11, STATE, "call not valid in the handle's current state")              \
    X(12, RELOC, "bad relocation")                                            \
    X(13, STATIC_TLS, "static thread-local storage exhausted")

typedef enum ej_status {
#define EJ__STATUS_ENUM(code, name, desc) EJ_##name = code,
    EJ_STATUS_MAP(EJ__STATUS_ENUM)
#undef EJ__STATUS_ENUM
} ej_status;

/* The code's identifier without the prefix, e.g. "RANGE"; "UNKNOWN" for a
 * value outside the list.  Never NULL; the string is static.
 * Thread-safe. */
const char *ej_status_name(ej_status status);

/* A one-line description of the class of failure, e.g. "relocation target
 * out of range".  Never NULL; the string is static.  Thread-safe. */
const char *ej_status_str(ej_status status);

#ifdef __cplusplus
}
#endif

#endif /* ELFJIT_STATUS_H */
