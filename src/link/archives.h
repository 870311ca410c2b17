/* Static libraries in the link (archives.c: which members to load;
 * runtime.c: the compiler runtime's archives). */
#ifndef EJ_LINK_ARCHIVES_H
#define EJ_LINK_ARCHIVES_H

#include "elf/archive.h"
#include "link/linker.h"

/* Loads the archive members the objects need (archives.c has the rules),
 * appending them to LK's objects.  Runs first in ej_linker_link. */
ej_status ej__archives_pull(ej_linker *lk);

/* Opens member M of archive A as an object named "A(M)" and adds it to
 * LK; WHY is the name that pulled it (NULL for a whole archive), for
 * messages (linker.c). */
ej_status ej__link_add_member(ej_linker *lk, ej__archive *a, const ej__armember *m,
                              const char *why);

/* Whether the compiler runtime's archives for LK's machine define NAME:
 * *LA receives LK's state for that archive, *MEMBER the member. */
int ej__runtime_find(ej_linker *lk, const char *name, ej__larchive **la, uint64_t *member);

/* Whether the compiler runtime defines NAME, which nothing else does;
 * if so its member is noted for ej__runtime_load (resolve.c). */
int ej__runtime_want(ej_linker *lk, const char *name);

/* Loads the members ej__runtime_want noted and forgets the resolution, so
 * that the link is planned again with them: returns EJ_OK with *AGAIN set
 * when there were some. */
ej_status ej__runtime_load(ej_linker *lk, int *again);

/* Every member the link takes has been read: the archives' descriptors
 * are closed (their mappings stay while the members' objects live). */
void ej__archives_done(ej_linker *lk);

/* Closes LK's runtime archives. */
void ej__runtime_release(ej_linker *lk);

#endif
