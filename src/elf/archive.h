/* Static libraries: ar archives (GNU and BSD formats), read through
 * libelf's archive support.  The file is mapped once; members are handed
 * to the object reader in place (ej__object_open_member), never copied or
 * extracted.  Which members a link needs is the link layer's business
 * (src/link/archives.c): this layer lists the symbol index and finds a
 * member by its offset. */
#ifndef EJ_ELF_ARCHIVE_H
#define EJ_ELF_ARCHIVE_H

#include <libelf.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* One entry of the symbol index: a global name and the member defining it
 * (the offset of the member's header, which identifies it). */
typedef struct ej__arsym {
    const char *name;
    uint64_t member;
} ej__arsym;

/* A member of a thin archive: its header's offset and its file's name. */
typedef struct ej__thin_member {
    uint64_t off;
    char *name;
} ej__thin_member;

typedef struct ej__archive {
    char *path;
    uint8_t *image;       /* the file, mapped privately (libelf may write) */
    size_t len;
    int fd;               /* open for the archive's life: members are validated from it */
    Elf *elf;             /* ELF_K_AR */
    const ej__arsym *index; /* the archive's own symbol index, or one built by reading
                             * every member when it has none */
    size_t nindex;
    int built_index;      /* the index was built, not read (for messages) */
    size_t indexed_members; /* how many members were read to build it */
    ej__arsym *owned_index;
    /* libelf's archive descriptor has a current position: finding a
     * member moves it.  Archives of the compiler runtime are shared by
     * concurrent links. */
    pthread_mutex_t lock;
    /* A thin archive (thin.c): libelf is not involved (ELF NULL); the
     * members are files, named relative to the archive. */
    ej__thin_member *thin;
    size_t nthin;
    int is_thin;
} ej__archive;

/* A member, in place in the archive's mapping (a thin archive's: DATA
 * NULL, its file named by NAME, relative to the archive). */
typedef struct ej__armember {
    uint64_t off;         /* its header's offset: its identity */
    char name[256];       /* as the archive names it (cut at 255 bytes) */
    const uint8_t *data;  /* its contents */
    size_t size;
    uint64_t data_off;    /* the contents' offset in the file */
} ej__armember;

/* Whether the LEN bytes at HEAD (the start of a file) are an ar archive. */
int ej__archive_magic(const uint8_t *head, size_t len);

/* Opens and maps the archive at PATH and reads its symbol index (a thin
 * archive's too: thin.c).  Errors: EJ_IO, EJ_NOMEM, EJ_BADELF (not an
 * archive, a damaged index), EJ_UNSUPPORTED (a thin archive without an
 * index). */
ej_status ej__archive_open(const char *path, ej__archive **out, ej__err *err);

/* The same for an archive of LEN bytes in memory (at least SARMAG, its
 * magic checked by the caller), copied; NAME labels it.  A thin archive
 * is refused (EJ_UNSUPPORTED): its members are files named relative to
 * it. */
ej_status ej__archive_open_buffer(const char *name, const void *buf, size_t len,
                                  ej__archive **out, ej__err *err);

void ej__archive_free(ej__archive *a);

/* Closes A's descriptor: members read afterwards are validated from the
 * mapping. */
void ej__archive_close_file(ej__archive *a);

/* The member whose header is at offset OFF.  Thread-safe.  Errors:
 * EJ_BADELF. */
ej_status ej__archive_member(ej__archive *a, uint64_t off, ej__armember *m, ej__err *err);

/* Every member in archive order (special members, the index and the long
 * name table, left out): calls FN for each until it returns nonzero
 * (which is returned).  Errors are reported through ERR with status -1. */
int ej__archive_each(ej__archive *a, int (*fn)(void *ctx, const ej__armember *m), void *ctx,
                     ej__err *err);

/* The header offsets of every member, in archive order, in a malloc()ed
 * array.  Errors: EJ_NOMEM, EJ_BADELF. */
ej_status ej__archive_offsets(ej__archive *a, uint64_t **out, size_t *n, ej__err *err);

/* Reads a thin archive's headers and index (thin.c). */
ej_status ej__thin_read(ej__archive *a, ej__err *err);

#endif /* EJ_ELF_ARCHIVE_H */
