/* libexpat.a: a small document parsed with element and text handlers. */
#include <expat.h>
#include <stdio.h>
#include <string.h>

static int depth, elements;

static void XMLCALL start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)ud;
    printf("%*s<%s", depth * 2, "", name);
    for (int i = 0; attrs[i]; i += 2)
        printf(" %s=%s", attrs[i], attrs[i + 1]);
    puts(">");
    depth++;
    elements++;
}

static void XMLCALL end(void *ud, const XML_Char *name)
{
    (void)ud;
    (void)name;
    depth--;
}

int main(void)
{
    static const char doc[] =
        "<?xml version='1.0'?><lib name='expat'><archive kind='gnu' members='3'/>"
        "<note>static &amp; linked</note><list><i>1</i><i>2</i></list></lib>";
    XML_Parser p = XML_ParserCreate(NULL);
    XML_SetElementHandler(p, start, end);
    if (XML_Parse(p, doc, (int)strlen(doc), 1) == XML_STATUS_ERROR)
        return printf("parse error: %s\n", XML_ErrorString(XML_GetErrorCode(p))), 1;
    XML_ParserFree(p);
    printf("%d elements\n", elements);
    return elements == 6 ? 0 : 1;
}
