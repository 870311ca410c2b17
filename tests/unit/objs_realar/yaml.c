/* libyaml.a: a document parsed into events. */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

int main(void)
{
    static const char doc[] = "archives:\n  - name: libz.a\n    members: 15\n"
                              "  - name: libsqlite3.a\n    members: 102\nthin: false\n";
    yaml_parser_t p;
    yaml_event_t ev;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)doc, strlen(doc));
    int events = 0, done = 0;
    while (!done) {
        if (!yaml_parser_parse(&p, &ev))
            return printf("parse error: %s\n", p.problem), 1;
        if (ev.type == YAML_SCALAR_EVENT)
            printf("scalar %s\n", (const char *)ev.data.scalar.value);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        events++;
    }
    yaml_parser_delete(&p);
    printf("%d events\n", events);
    return 0;
}
