int shared_common;            /* tentative: SHN_COMMON with -fcommon */
int common_get(void) { return shared_common; }
