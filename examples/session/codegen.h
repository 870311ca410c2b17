/* From a function's tree to an ELF object: the codegen walks the tree
 * with the machine's emitter and hands the code and its relocations to
 * elfjit's builder. */
#ifndef SESSION_CODEGEN_H
#define SESSION_CODEGEN_H

#include <elfjit/builder.h>

#include "emit.h"
#include "lang.h"

/* The two versions of a function. */
enum tier {
    TIER_FIRST, /* as written, with a call counter ("NAME.calls", exported) */
    TIER_FOLDED /* constant-folded, no counter */
};

/* A builder holding function FI of P (compiled for E) in version TIER,
 * ready for ej_builder_finish or ej_builder_write; FILE names the source
 * in its position table.  NULL, with a message on stderr, on failure. */
ej_builder *compile_function(const program *p, int fi, enum tier tier, const emitter *e,
                             const char *file);

#endif
