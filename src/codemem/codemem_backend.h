/* The interface each code-memory backend implements (codemem.h says what
 * the two are).  codemem.c owns the state machine and calls these; a
 * backend only maps and protects. */
#ifndef EJ_CODEMEM_BACKEND_H
#define EJ_CODEMEM_BACKEND_H

#include "codemem/codemem.h"

typedef struct ej__cm_backend {
    const char *name;
    /* Maps the image: RUN (SIZE bytes, already reserved by placement as
     * anonymous memory) becomes the run view; cm->w the write view. */
    ej_status (*map)(ej__codemem *cm, uint8_t *run, size_t size, ej__err *err);
    /* Fills [OFF, OFF+LEN) of the write view (page aligned) with the bytes
     * of file FD from FOFF: mapped privately where the write view is the
     * run view (pages never written stay the file's, shared with the page
     * cache), read in otherwise. */
    ej_status (*fill_file)(ej__codemem *cm, size_t off, size_t len, int fd, uint64_t foff,
                           ej__err *err);
    /* Before any region is protected: drop every writable alias of the
     * image that must not outlive the link (dual map: the write view),
     * checked, so that nothing executable is ever mapped beside one. */
    ej_status (*seal)(ej__codemem *cm, ej__err *err);
    /* Gives region R its final protection in the run view. */
    ej_status (*protect)(ej__codemem *cm, const ej__region *r, ej__err *err);
    /* After every region is protected: drop what the link needed only. */
    void (*finish)(ej__codemem *cm);
} ej__cm_backend;

/* fill_file by reading (pread) into the write view. */
ej_status ej__codemem_read_file(ej__codemem *cm, size_t off, size_t len, int fd, uint64_t foff,
                                ej__err *err);

extern const ej__cm_backend ej__cm_mprotect;
extern const ej__cm_backend ej__cm_dual;

#endif
