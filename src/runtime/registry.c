/* Module range registry: a small array under a mutex. */
#include <pthread.h>
#include <stdlib.h>

#include "runtime/registry.h"

typedef struct entry {
    uint64_t start, end;
    ej_module *m;
    void *dso;
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *entries;
static size_t count, cap;

ej_status ej__registry_add(uint64_t start, uint64_t end, ej_module *m, void *dso)
{
    ej_status st = EJ_OK;
    pthread_mutex_lock(&lock);
    if (count == cap) {
        size_t ncap = cap ? cap * 2 : 16;
        entry *n = realloc(entries, ncap * sizeof *n);
        if (!n)
            st = EJ_NOMEM;
        else {
            entries = n;
            cap = ncap;
        }
    }
    if (st == EJ_OK)
        entries[count++] = (entry){start, end, m, dso};
    pthread_mutex_unlock(&lock);
    return st;
}

void ej__registry_remove(ej_module *m)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < count;)
        if (entries[i].m == m)
            entries[i] = entries[--count];
        else
            i++;
    pthread_mutex_unlock(&lock);
}

ej_module *ej__registry_find(uint64_t addr, void **dso)
{
    ej_module *m = NULL;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < count; i++)
        if (addr >= entries[i].start && addr < entries[i].end) {
            m = entries[i].m;
            *dso = entries[i].dso;
            break;
        }
    pthread_mutex_unlock(&lock);
    return m;
}
