/* Text input for dbs import: pieces of lines, UTF-8 checks, JSON-safe strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbs.h"

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF, no NUL. */
int dbs_tool_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0, k, need;
    unsigned long cp;

    while (i < n) {
        unsigned char c = s[i++];
        if (c - 1u < 0x7Fu)    /* ASCII but NUL */
            continue;
        if (c == 0)
            return 0;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, cp = c & 0x07;
        else
            return 0;
        if (n - i < need)
            return 0;
        for (k = 0; k < need; k++, i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
            || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
    }
    return 1;
}

/* A JSON string of s; bytes that are not UTF-8 become U+FFFD. */
json_t *dbs_tool_json_text(const char *s)
{
    size_t n = strlen(s), i, o = 0;
    json_t *j;
    char *t;

    if (dbs_tool_utf8_valid((const unsigned char *)s, n))
        return json_stringn(s, n);
    if ((t = malloc(3 * n + 1)) == NULL)
        return json_null();
    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x80) {
            t[o++] = s[i];
        } else {
            memcpy(t + o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
    }
    j = json_stringn(t, o);
    free(t);
    return j;
}

/* ---- reading a file in pieces that end at line ends ---- */

int dbs_tool_reader_fill(struct dbs_tool_reader *r)
{
    size_t n;

    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    n = fread(r->buf + r->len, 1, sizeof(r->buf) - r->len, r->f);
    r->len += n;
    if (n == 0) {
        r->eof = 1;
        r->error = ferror(r->f);
    }
    return (int)n;
}

/* Next piece: up to and including a line end ("\n", "\r\n", a lone "\r"),
 * or up to the end of the buffer. Returns 0 at the end of the file. */
int dbs_tool_reader_next(struct dbs_tool_reader *r, const char **p, size_t *n, int *ends_line)
{
    const char *nl, *cr;
    size_t i, end;

    if (r->pos == r->len && (r->eof || dbs_tool_reader_fill(r) == 0))
        return 0;
    nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);       /* memchr: SIMD, fast */
    i = nl != NULL ? (size_t)(nl - r->buf) : r->len;
    if ((cr = memchr(r->buf + r->pos, '\r', i - r->pos)) != NULL)
        i = (size_t)(cr - r->buf);
    if (i + 1 == r->len && r->buf[i] == '\r' && !r->eof && i == r->pos) {
        dbs_tool_reader_fill(r);                 /* a last '\r': is a '\n' next? */
        return dbs_tool_reader_next(r, p, n, ends_line);
    }
    *ends_line = 0;
    end = i;                            /* a '\r' ending the buffer waits for the next call */
    if (i < r->len && !(i + 1 == r->len && r->buf[i] == '\r' && !r->eof)) {
        *ends_line = 1;
        end = i + 1 + (r->buf[i] == '\r' && i + 1 < r->len && r->buf[i + 1] == '\n');
    }
    *p = r->buf + r->pos;
    *n = end - r->pos;
    r->pos = end;
    r->off += (long long)*n;
    return 1;
}

int dbs_tool_reader_seek(struct dbs_tool_reader *r, long long off)
{
    if (fseeko(r->f, (off_t)off, SEEK_SET) != 0)
        return -1;
    r->pos = r->len = 0;
    r->eof = r->error = 0;
    r->off = off;
    return 0;
}
