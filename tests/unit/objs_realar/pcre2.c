/* libpcre2-8.a: a pattern compiled and matched (no JIT). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    int err;
    PCRE2_SIZE erroff;
    const char *pat = "(\\w+)\\.a\\((\\w+\\.o)\\)";
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &err, &erroff, NULL);
    if (!re)
        return puts("compile failed"), 1;
    const char *subject = "error in libfoo.a(bar.o) and libz.a(inflate.o)";
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    size_t start = 0, len = strlen(subject);
    int matches = 0;
    while (start < len) {
        int rc = pcre2_match(re, (PCRE2_SPTR)subject, len, start, 0, md, NULL);
        if (rc < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        printf("match %.*s: archive %.*s member %.*s\n", (int)(ov[1] - ov[0]), subject + ov[0],
               (int)(ov[3] - ov[2]), subject + ov[2], (int)(ov[5] - ov[4]), subject + ov[4]);
        start = ov[1];
        matches++;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return matches == 2 ? 0 : 1;
}
