#include <ctype.h>
#include "common.h"
void strbuf_upper(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}
