/* test_smtp.c - the SMTP reply parser, the EHLO parser and every path of
 * the session machine, as tables.  Each session row also runs with its
 * input fed one byte at a time and its output sent one byte at a time:
 * the outcome must not depend on how TCP cuts the stream. */
#include "check.h"
#include "smtp.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A byte string that may hold NUL bytes. */
typedef struct {
    const char *s;
    size_t len;
} bytes_t;

#define B(lit) {(lit), sizeof(lit) - 1}

static char where[256];

/* "row: field" names for the CHECK messages. */
static const char *at(const char *row, const char *field)
{
    snprintf(where, sizeof(where), "%s: %s", row, field);
    return where;
}

/* ---- generated inputs ------------------------------------------------ */

/* n lines of code 250, each body_len bytes before its line ending, the
 * last one last_len bytes; eol "" leaves the last line unfinished. */
static char *gen_reply(size_t n, size_t body_len, size_t last_len, const char *eol, size_t *len)
{
    size_t eol_len = strlen(eol), cap = n * (body_len + 2) + last_len + 2, off = 0;
    char *buf = malloc(cap);

    for (size_t i = 0; i < n; i++) {
        size_t body = i + 1 == n ? last_len : body_len;
        memcpy(buf + off, i + 1 == n ? "250 " : "250-", 4);
        memset(buf + off + 4, 'A', body - 4);
        off += body;
        if (i + 1 < n) {
            memcpy(buf + off, "\r\n", 2);
            off += 2;
        }
    }
    memcpy(buf + off, eol, eol_len);
    *len = off + eol_len;
    return buf;
}

/* ---- the reply parser ------------------------------------------------ */

typedef struct {
    const char *name;
    bytes_t in;
    smtp_error_t err;
    bool complete;
    int code;
    size_t lines;
    size_t consumed;
    bool bare_lf;
    const char *text;           /* NULL: not checked */
} reply_row_t;

static const reply_row_t reply_rows[] = {
    {"one line", B("220 mx.example.org ESMTP\r\n"), SMTP_OK, true, 220, 1, 26, false,
     "mx.example.org ESMTP"},
    {"code only", B("250\r\n"), SMTP_OK, true, 250, 1, 5, false, ""},
    {"code and space", B("250 \r\n"), SMTP_OK, true, 250, 1, 6, false, ""},
    {"multi-line", B("250-a\r\n250-b b\r\n250 c\r\n"), SMTP_OK, true, 250, 3, 23, false, "a b b c"},
    {"empty continuation", B("220-\r\n220 hi\r\n"), SMTP_OK, true, 220, 2, 14, false, "hi"},
    {"unfinished reply", B("250-a\r\n250 c"), SMTP_OK, false, 250, 1, 7, false, "a"},
    {"unfinished line", B("25"), SMTP_OK, false, 0, 0, 0, false, ""},
    {"only a CR so far", B("250 ok\r"), SMTP_OK, false, 0, 0, 0, false, ""},
    {"nothing", B(""), SMTP_OK, false, 0, 0, 0, false, ""},
    {"stops after the last line", B("250 a\r\n221 b\r\n"), SMTP_OK, true, 250, 1, 7, false, "a"},
    {"bare LF", B("220 hi\n"), SMTP_OK, true, 220, 1, 7, true, "hi"},
    {"bare LF then CRLF", B("220-a\n220 b\r\n"), SMTP_OK, true, 220, 2, 13, true, "a b"},
    {"bad code letter", B("22O hello\r\n"), SMTP_ERR_BAD_REPLY, false, 0, 0, 0, false, NULL},
    {"four digits", B("2200 x\r\n"), SMTP_ERR_BAD_REPLY, false, 0, 0, 0, false, NULL},
    {"no separator", B("220x\r\n"), SMTP_ERR_BAD_REPLY, false, 0, 0, 0, false, NULL},
    {"tab separator", B("220\tx\r\n"), SMTP_ERR_BAD_REPLY, false, 0, 0, 0, false, NULL},
    {"empty line", B("\r\n"), SMTP_ERR_BAD_REPLY, false, 0, 0, 0, false, NULL},
    {"two digits", B("22\r\n"), SMTP_ERR_BAD_REPLY, false, 0, 0, 0, false, NULL},
    {"1xx code", B("199 x\r\n"), SMTP_ERR_BAD_REPLY, false, 0, 0, 0, false, NULL},
    {"6xx code", B("600 x\r\n"), SMTP_ERR_BAD_REPLY, false, 0, 0, 0, false, NULL},
    {"second digit 6", B("260 x\r\n"), SMTP_ERR_BAD_REPLY, false, 0, 0, 0, false, NULL},
    {"leading space", B(" 220 x\r\n"), SMTP_ERR_BAD_REPLY, false, 0, 0, 0, false, NULL},
    {"bad second line", B("250-a\r\nxyz\r\n"), SMTP_ERR_BAD_REPLY, false, 250, 1, 7, false, NULL},
    {"mixed codes", B("250-a\r\n251 b\r\n"), SMTP_ERR_BAD_CODE_MIX, false, 250, 1, 7, false, NULL},
    {"mixed classes", B("220-a\r\n554 b\r\n"), SMTP_ERR_BAD_CODE_MIX, false, 220, 1, 7, false, NULL},
    {"NUL, ESC, 0xff censored", B("220 a\0b\x1b[31mc\xff\r\n"), SMTP_OK, true, 220, 1, 16, false,
     "a?b?[31mc?"},
    {"TAB and inner CR censored", B("220 a\tb\rc\r\r\n"), SMTP_OK, true, 220, 1, 12, false, "a?b?c?"},
    {"8-bit text censored", B("220 caf\xc3\xa9\r\n"), SMTP_OK, true, 220, 1, 11, false, "caf??"},
};

/* Feed in pieces of `chunk` bytes, keeping what was not consumed, as a
 * session does.  Returns the first error. */
static smtp_error_t parse_in_pieces(const bytes_t *in, size_t chunk, smtp_reply_t *reply, size_t *consumed)
{
    size_t have = 0, used_total = 0;
    smtp_error_t err = SMTP_OK;

    smtp_reply_init(reply);
    while (have < in->len && err == SMTP_OK && !reply->complete) {
        size_t used;

        have = have + chunk < in->len ? have + chunk : in->len;
        err = smtp_reply_parse(reply, NULL, (const uint8_t *)in->s + used_total, have - used_total, &used);
        used_total += used;
    }
    *consumed = used_total;
    return err;
}

static void test_reply_rows(void)
{
    for (size_t i = 0; i < sizeof(reply_rows) / sizeof(reply_rows[0]); i++) {
        const reply_row_t *r = &reply_rows[i];
        smtp_reply_t reply;
        size_t used = 99;
        smtp_error_t err;

        smtp_reply_init(&reply);
        err = smtp_reply_parse(&reply, NULL, (const uint8_t *)r->in.s, r->in.len, &used);
        CHECK_STR(at(r->name, "error"), smtp_error_name(err), smtp_error_name(r->err));
        CHECK_INT(at(r->name, "complete"), reply.complete, r->complete);
        CHECK_INT(at(r->name, "code"), reply.code, r->code);
        CHECK_INT(at(r->name, "lines"), reply.lines, r->lines);
        CHECK_INT(at(r->name, "consumed"), used, r->consumed);
        CHECK_INT(at(r->name, "bare_lf"), reply.bare_lf, r->bare_lf);
        if (r->text != NULL)
            CHECK_STR(at(r->name, "text"), reply.text, r->text);

        /* The same bytes one at a time, and three at a time. */
        for (size_t chunk = 1; chunk <= 3; chunk += 2) {
            smtp_reply_t split;
            smtp_error_t split_err = parse_in_pieces(&r->in, chunk, &split, &used);

            CHECK_STR(at(r->name, "split error"), smtp_error_name(split_err), smtp_error_name(r->err));
            CHECK_INT(at(r->name, "split complete"), split.complete, r->complete);
            CHECK_INT(at(r->name, "split consumed"), used, r->consumed);
            if (r->text != NULL)
                CHECK_STR(at(r->name, "split text"), split.text, r->text);
        }
    }
}

typedef struct {
    const char *name;
    size_t lines, body_len, last_len;
    const char *eol;
    smtp_error_t err;
    bool complete;
} limit_row_t;

/* DESIGN.md: 2048 bytes per line (CRLF not counted), 64 KiB and 100 lines
 * per reply.  31 lines of 2048+2 bytes and one of 1984+2 are 65536. */
static const limit_row_t limit_rows[] = {
    {"line of 2048", 1, 0, 2048, "\r\n", SMTP_OK, true},
    {"line of 2049", 1, 0, 2049, "\r\n", SMTP_ERR_LINE_TOO_LONG, false},
    {"line of 2049, bare LF", 1, 0, 2049, "\n", SMTP_ERR_LINE_TOO_LONG, false},
    {"line of 2048, bare LF", 1, 0, 2048, "\n", SMTP_OK, true},
    {"2048 unfinished", 1, 0, 2048, "", SMTP_OK, false},
    {"2048 and a CR, unfinished", 1, 0, 2048, "\r", SMTP_OK, false},
    {"2049 unfinished: no need to wait", 1, 0, 2049, "", SMTP_ERR_LINE_TOO_LONG, false},
    {"2048 and two CRs", 1, 0, 2048, "\r\r", SMTP_ERR_LINE_TOO_LONG, false},
    {"continuation line of 2049", 3, 2049, 10, "\r\n", SMTP_ERR_LINE_TOO_LONG, false},
    {"100 lines", 100, 10, 10, "\r\n", SMTP_OK, true},
    {"101 lines", 101, 10, 10, "\r\n", SMTP_ERR_REPLY_TOO_LONG, false},
    {"64 KiB", 32, 2048, 1984, "\r\n", SMTP_OK, true},
    {"64 KiB + 1", 32, 2048, 1985, "\r\n", SMTP_ERR_REPLY_TOO_LONG, false},
};

static void test_limit_rows(void)
{
    for (size_t i = 0; i < sizeof(limit_rows) / sizeof(limit_rows[0]); i++) {
        const limit_row_t *r = &limit_rows[i];
        size_t len, used;
        char *buf = gen_reply(r->lines, r->body_len, r->last_len, r->eol, &len);
        bytes_t in = {buf, len};
        smtp_reply_t reply;
        smtp_error_t err;

        smtp_reply_init(&reply);
        err = smtp_reply_parse(&reply, NULL, (const uint8_t *)buf, len, &used);
        CHECK_STR(at(r->name, "error"), smtp_error_name(err), smtp_error_name(r->err));
        CHECK_INT(at(r->name, "complete"), reply.complete, r->complete);
        if (r->complete) {
            CHECK_INT(at(r->name, "consumed"), used, len);
            CHECK_INT(at(r->name, "bytes"), reply.bytes, len);
            CHECK_INT(at(r->name, "lines"), reply.lines, r->lines);
            /* Far more text than is kept: cut and flagged, still a string. */
            CHECK_INT(at(r->name, "truncated"), reply.truncated, reply.bytes > SMTP_TEXT_KEEP + 4);
            CHECK_INT(at(r->name, "text_len"), strlen(reply.text), reply.text_len);
        }
        err = parse_in_pieces(&in, 1, &reply, &used);
        CHECK_STR(at(r->name, "byte by byte"), smtp_error_name(err), smtp_error_name(r->err));
        free(buf);
    }
}

/* ---- the EHLO parser ------------------------------------------------- */

typedef struct {
    const char *name;
    bytes_t in;
    bool starttls;
    size_t ncaps;
    const char *find;           /* keyword to look up; NULL: none */
    const char *keyword;        /* what the lookup must return; NULL: not found */
    const char *params;
} ehlo_row_t;

static const ehlo_row_t ehlo_rows[] = {
    {"postfix",
     B("250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
       "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n"),
     true, 9, "size", "SIZE", "10240000"},
    {"no STARTTLS", B("250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n"), false, 2, "STARTTLS", NULL, NULL},
    {"lower-case starttls", B("250-mx\r\n250-starttls\r\n250 ok\r\n"), true, 2, "STARTTLS", "STARTTLS",
     ""},
    {"mixed-case StartTLS last", B("250-mx\r\n250 StartTls\r\n"), true, 1, "starttls", "STARTTLS", ""},
    {"single line: greeting only", B("250 mx.example.org Hello\r\n"), false, 0, "MX.EXAMPLE.ORG", NULL,
     NULL},
    {"STARTTLS as greeting is no keyword", B("250-STARTTLS\r\n250 SIZE\r\n"), false, 1, "STARTTLS", NULL,
     NULL},
    {"AUTH= form", B("250-mx\r\n250-AUTH=PLAIN LOGIN\r\n250 AUTH PLAIN LOGIN\r\n"), false, 2, "auth",
     "AUTH", "PLAIN LOGIN"},
    {"params trimmed", B("250-mx\r\n250-SIZE   52428800  \r\n250 STARTTLS\r\n"), true, 2, "SIZE", "SIZE",
     "52428800"},
    {"STARTTLS with a parameter", B("250-mx\r\n250 STARTTLS now\r\n"), true, 1, "STARTTLS", "STARTTLS",
     "now"},
    {"leading blanks", B("250-mx\r\n250  \tSTARTTLS\r\n"), true, 1, "STARTTLS", "STARTTLS", ""},
    {"STARTTLSX is not STARTTLS", B("250-mx\r\n250 STARTTLSX\r\n"), false, 1, "STARTTLS", NULL, NULL},
    {"START TLS is not STARTTLS", B("250-mx\r\n250 START TLS\r\n"), false, 1, "START", "START", "TLS"},
    {"NUL inside STARTTLS", B("250-mx\r\n250 START\0TLS\r\n"), false, 1, "START?TLS", "START?TLS", ""},
    {"ESC in params censored", B("250-mx\r\n250 X-FOO a\x1b[0m\xff\r\n"), false, 1, "x-foo", "X-FOO",
     "a?[0m?"},
    {"empty line skipped", B("250-mx\r\n250-\r\n250- \r\n250 STARTTLS\r\n"), true, 1, "STARTTLS",
     "STARTTLS", ""},
    {"rejected EHLO has no keywords", B("550-mx\r\n550 STARTTLS\r\n"), false, 0, "STARTTLS", NULL, NULL},
    {"bare LF", B("250-mx\n250-STARTTLS\n250 SIZE 1\n"), true, 2, "size", "SIZE", "1"},
};

static void test_ehlo_rows(void)
{
    for (size_t i = 0; i < sizeof(ehlo_rows) / sizeof(ehlo_rows[0]); i++) {
        const ehlo_row_t *r = &ehlo_rows[i];
        const smtp_ehlo_cap_t *cap;
        smtp_reply_t reply;
        smtp_ehlo_t ehlo;
        size_t used;
        smtp_error_t err;

        smtp_reply_init(&reply);
        smtp_ehlo_init(&ehlo);
        err = smtp_reply_parse(&reply, &ehlo, (const uint8_t *)r->in.s, r->in.len, &used);
        CHECK_STR(at(r->name, "error"), smtp_error_name(err), "ok");
        CHECK_INT(at(r->name, "complete"), reply.complete, true);
        CHECK_INT(at(r->name, "starttls"), ehlo.starttls, r->starttls);
        CHECK_INT(at(r->name, "ncaps"), ehlo.ncaps, r->ncaps);
        cap = smtp_ehlo_find(&ehlo, r->find);
        CHECK_STR(at(r->name, "keyword"), cap ? cap->keyword : NULL, r->keyword);
        CHECK_STR(at(r->name, "params"), cap ? cap->params : NULL, r->params);
    }
}

static void test_ehlo_bounds(void)
{
    char line[128];
    smtp_ehlo_t ehlo;
    const smtp_ehlo_cap_t *cap;

    smtp_ehlo_init(&ehlo);
    smtp_ehlo_add_line(&ehlo, (const uint8_t *)"mx", 2);
    for (int i = 0; i < SMTP_EHLO_CAPS_MAX + 8; i++) {
        int n = snprintf(line, sizeof(line), "X-CAP-%d", i);
        smtp_ehlo_add_line(&ehlo, (const uint8_t *)line, (size_t)n);
    }
    smtp_ehlo_add_line(&ehlo, (const uint8_t *)"STARTTLS", 8);
    CHECK_INT("caps beyond the cap: kept", ehlo.ncaps, SMTP_EHLO_CAPS_MAX);
    CHECK_INT("caps beyond the cap: dropped", ehlo.dropped, 9);
    CHECK_INT("caps beyond the cap: STARTTLS still seen", ehlo.starttls, true);

    smtp_ehlo_init(&ehlo);
    smtp_ehlo_add_line(&ehlo, NULL, 0);
    memset(line, 'k', sizeof(line));
    smtp_ehlo_add_line(&ehlo, (const uint8_t *)line, sizeof(line));
    CHECK_INT("long keyword: kept", ehlo.ncaps, 1);
    CHECK_INT("long keyword: cut", strlen(ehlo.caps[0].keyword), SMTP_EHLO_KEYWORD_KEEP);
    CHECK_INT("long keyword: flagged", ehlo.truncated, true);
    CHECK(ehlo.caps[0].keyword[0] == 'K', "long keyword: got '%c', want 'K'", ehlo.caps[0].keyword[0]);

    smtp_ehlo_init(&ehlo);
    smtp_ehlo_add_line(&ehlo, NULL, 0);
    memcpy(line, "SIZE ", 5);
    memset(line + 5, '9', sizeof(line) - 5);
    smtp_ehlo_add_line(&ehlo, (const uint8_t *)line, sizeof(line));
    CHECK_INT("long params: cut", strlen(ehlo.caps[0].params), SMTP_EHLO_PARAMS_KEEP);
    CHECK_INT("long params: flagged", ehlo.truncated, true);
    CHECK_STR("long params: keyword whole", ehlo.caps[0].keyword, "SIZE");

    smtp_ehlo_init(&ehlo);
    smtp_ehlo_add_line(&ehlo, NULL, 0);
    smtp_ehlo_add_line(&ehlo, NULL, 0);
    CHECK_INT("NULL empty lines", ehlo.ncaps, 0);
    cap = smtp_ehlo_find(&ehlo, "STARTTLS");
    CHECK(cap == NULL, "find in an empty list: got %p, want NULL", (const void *)cap);
}

/* ---- the session ------------------------------------------------------ */

typedef enum { STEP_END, STEP_PEER, STEP_EOF, STEP_TLS } step_kind_t;

typedef struct {
    step_kind_t kind;
    bytes_t bytes;
} step_t;

#define PEER(lit) {STEP_PEER, B(lit)}
#define EOF_ {STEP_EOF, {NULL, 0}}
#define TLS_ {STEP_TLS, {NULL, 0}}

#define MAX_STEPS 8

typedef struct {
    const char *name;
    step_t steps[MAX_STEPS];
    const char *sent;           /* every byte the client sent, in order */
    smtp_state_t state;
    smtp_error_t err;
    const char *reason_has;     /* NULL: not checked */
} session_row_t;

#define BANNER "220 mx.example.org ESMTP\r\n"
#define EHLO_TLS "250-mx.example.org\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
#define EHLO_AFTER "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
#define GO "220 2.0.0 Ready to start TLS\r\n"
#define BYE "221 2.0.0 Bye\r\n"
#define SENT_ALL "EHLO x\r\nSTARTTLS\r\nEHLO x\r\nQUIT\r\n"

static const session_row_t session_rows[] = {
    {"happy path", {PEER(BANNER), PEER(EHLO_TLS), PEER(GO), TLS_, PEER(EHLO_AFTER), PEER(BYE)},
     SENT_ALL, SMTP_STATE_DONE, SMTP_OK, NULL},
    {"happy path, EOF after QUIT", {PEER(BANNER), PEER(EHLO_TLS), PEER(GO), TLS_, PEER(EHLO_AFTER), EOF_},
     SENT_ALL, SMTP_STATE_DONE, SMTP_OK, NULL},
    {"happy path, garbled goodbye", {PEER(BANNER), PEER(EHLO_TLS), PEER(GO), TLS_, PEER(EHLO_AFTER),
                                     PEER("bye!\r\n")},
     SENT_ALL, SMTP_STATE_DONE, SMTP_OK, NULL},
    {"happy path, bare LF",
     {PEER("220-mx\n220 hi\n"), PEER("250-mx\n250 STARTTLS\n"), PEER("220 go\n"), TLS_, PEER("250 mx\n"),
      PEER("221 bye\n")},
     SENT_ALL, SMTP_STATE_DONE, SMTP_OK, NULL},
    {"happy path, multi-line banner",
     {PEER("220-mx.example.org ESMTP\r\n220-no UCE\r\n220 welcome\r\n"), PEER(EHLO_TLS), PEER(GO), TLS_,
      PEER(EHLO_AFTER), PEER(BYE)},
     SENT_ALL, SMTP_STATE_DONE, SMTP_OK, NULL},
    {"replies cut anywhere", {PEER("2"), PEER("20 mx\r\n250-mx\r"), PEER("\n250-STARTTLS\r\n25"),
                              PEER("0 SIZE\r\n220 "), PEER("go\r\n"), TLS_, PEER("250 mx\r\n221 bye\r\n")},
     SENT_ALL, SMTP_STATE_DONE, SMTP_OK, NULL},
    {"banner 554", {PEER("554 5.3.2 No service here\r\n"), PEER(BYE)}, "QUIT\r\n", SMTP_STATE_FAILED,
     SMTP_ERR_BANNER_REJECTED, "554 5.3.2 No service here"},
    {"banner 421, then EOF", {PEER("421 4.3.2 busy\r\n"), EOF_}, "QUIT\r\n", SMTP_STATE_FAILED,
     SMTP_ERR_BANNER_REJECTED, "421 4.3.2 busy"},
    {"banner 250", {PEER("250 hello\r\n"), PEER(BYE)}, "QUIT\r\n", SMTP_STATE_FAILED,
     SMTP_ERR_UNEXPECTED_CODE, "want 220"},
    {"banner bad code", {PEER("22O hello\r\n")}, "", SMTP_STATE_FAILED, SMTP_ERR_BAD_REPLY, "22O hello"},
    {"banner code mix", {PEER("220-hi\r\n250 there\r\n")}, "", SMTP_STATE_FAILED, SMTP_ERR_BAD_CODE_MIX,
     "250 there"},
    {"EHLO 550", {PEER(BANNER), PEER("550 5.7.1 go away\r\n"), PEER(BYE)}, "EHLO x\r\nQUIT\r\n",
     SMTP_STATE_FAILED, SMTP_ERR_EHLO_REJECTED, "550 5.7.1 go away"},
    {"EHLO 421", {PEER(BANNER), PEER("421 4.7.0 later\r\n"), EOF_}, "EHLO x\r\nQUIT\r\n",
     SMTP_STATE_FAILED, SMTP_ERR_EHLO_REJECTED, "421"},
    {"EHLO 354", {PEER(BANNER), PEER("354 go on\r\n"), PEER(BYE)}, "EHLO x\r\nQUIT\r\n", SMTP_STATE_FAILED,
     SMTP_ERR_UNEXPECTED_CODE, "354"},
    {"no STARTTLS", {PEER(BANNER), PEER(EHLO_AFTER), PEER(BYE)}, "EHLO x\r\nQUIT\r\n", SMTP_STATE_FAILED,
     SMTP_ERR_NO_STARTTLS, "not offered"},
    {"STARTTLS 454", {PEER(BANNER), PEER(EHLO_TLS), PEER("454 4.7.0 TLS not available\r\n"), PEER(BYE)},
     "EHLO x\r\nSTARTTLS\r\nQUIT\r\n", SMTP_STATE_FAILED, SMTP_ERR_STARTTLS_REJECTED,
     "454 4.7.0 TLS not available"},
    {"STARTTLS 501", {PEER(BANNER), PEER(EHLO_TLS), PEER("501 5.5.4 Syntax\r\n"), EOF_},
     "EHLO x\r\nSTARTTLS\r\nQUIT\r\n", SMTP_STATE_FAILED, SMTP_ERR_STARTTLS_REJECTED, "501"},
    {"STARTTLS 250", {PEER(BANNER), PEER(EHLO_TLS), PEER("250 ok\r\n"), PEER(BYE)},
     "EHLO x\r\nSTARTTLS\r\nQUIT\r\n", SMTP_STATE_FAILED, SMTP_ERR_UNEXPECTED_CODE, "want 220"},
    {"injection in the 220's input", {PEER(BANNER), PEER(EHLO_TLS), PEER(GO "250-injected\r\n250 OK\r\n")},
     "EHLO x\r\nSTARTTLS\r\n", SMTP_STATE_FAILED, SMTP_ERR_STARTTLS_INJECTION, "plaintext"},
    {"injection of one byte", {PEER(BANNER), PEER(EHLO_TLS), PEER(GO "X")}, "EHLO x\r\nSTARTTLS\r\n",
     SMTP_STATE_FAILED, SMTP_ERR_STARTTLS_INJECTION, "1 bytes"},
    {"injection in a later input", {PEER(BANNER), PEER(EHLO_TLS), PEER(GO), PEER("250 OK\r\n")},
     "EHLO x\r\nSTARTTLS\r\n", SMTP_STATE_FAILED, SMTP_ERR_STARTTLS_INJECTION, "plaintext"},
    {"injection left over from before STARTTLS", {PEER(BANNER), PEER(EHLO_TLS GO "250 OK\r\n")},
     "EHLO x\r\nSTARTTLS\r\n", SMTP_STATE_FAILED, SMTP_ERR_STARTTLS_INJECTION, "plaintext"},
    {"early 220 waits for STARTTLS", {PEER(BANNER), PEER(EHLO_TLS GO), TLS_, PEER(EHLO_AFTER), PEER(BYE)},
     SENT_ALL, SMTP_STATE_DONE, SMTP_OK, NULL},
    {"EHLO after TLS 550", {PEER(BANNER), PEER(EHLO_TLS), PEER(GO), TLS_, PEER("550 no\r\n"), PEER(BYE)},
     SENT_ALL, SMTP_STATE_FAILED, SMTP_ERR_EHLO_REJECTED, "after TLS"},
    {"EHLO after TLS 354", {PEER(BANNER), PEER(EHLO_TLS), PEER(GO), TLS_, PEER("354 what\r\n"), PEER(BYE)},
     SENT_ALL, SMTP_STATE_FAILED, SMTP_ERR_UNEXPECTED_CODE, "after TLS answered with code 354"},
    {"EHLO after TLS garbage", {PEER(BANNER), PEER(EHLO_TLS), PEER(GO), TLS_, PEER("\x16\x03\x03\r\n")},
     "EHLO x\r\nSTARTTLS\r\nEHLO x\r\n", SMTP_STATE_FAILED, SMTP_ERR_BAD_REPLY, "ehlo-tls"},
    {"EOF before the banner", {EOF_}, "", SMTP_STATE_FAILED, SMTP_ERR_CLOSED, "state banner"},
    {"EOF inside the banner", {PEER("220-mx\r\n220 we"), EOF_}, "", SMTP_STATE_FAILED, SMTP_ERR_CLOSED,
     "middle of a reply"},
    {"EOF after EHLO", {PEER(BANNER), EOF_}, "EHLO x\r\n", SMTP_STATE_FAILED, SMTP_ERR_CLOSED, "state ehlo"},
    {"EOF after STARTTLS", {PEER(BANNER), PEER(EHLO_TLS), EOF_}, "EHLO x\r\nSTARTTLS\r\n",
     SMTP_STATE_FAILED, SMTP_ERR_CLOSED, "state starttls"},
    {"EOF in the handshake", {PEER(BANNER), PEER(EHLO_TLS), PEER(GO), EOF_}, "EHLO x\r\nSTARTTLS\r\n",
     SMTP_STATE_FAILED, SMTP_ERR_CLOSED, "state tls-handshake"},
    {"EOF after EHLO in TLS", {PEER(BANNER), PEER(EHLO_TLS), PEER(GO), TLS_, EOF_},
     "EHLO x\r\nSTARTTLS\r\nEHLO x\r\n", SMTP_STATE_FAILED, SMTP_ERR_CLOSED, "state ehlo-tls"},
    {"EOF after QUIT, failed before", {PEER(BANNER), PEER(EHLO_AFTER), EOF_}, "EHLO x\r\nQUIT\r\n",
     SMTP_STATE_FAILED, SMTP_ERR_NO_STARTTLS, NULL},
    {"EOF and bytes after the end", {PEER(BANNER), PEER(EHLO_TLS), PEER(GO), TLS_, PEER(EHLO_AFTER),
                                     PEER(BYE "more"), PEER("and more"), EOF_},
     SENT_ALL, SMTP_STATE_DONE, SMTP_OK, NULL},
};

typedef struct {
    char sent[512];
    size_t sent_len;
    bool step_ok;               /* every TLS_ step found SMTP_WANT_TLS */
} run_t;

/* Send what is pending, `wchunk` bytes per write. */
static smtp_want_t flush(smtp_session_t *s, smtp_want_t want, size_t wchunk, run_t *run)
{
    while (want == SMTP_WANT_WRITE) {
        size_t len;
        const uint8_t *p = smtp_session_pending(s, &len);
        size_t n = len < wchunk ? len : wchunk;

        if (run->sent_len + n < sizeof(run->sent)) {
            memcpy(run->sent + run->sent_len, p, n);
            run->sent_len += n;
        }
        want = smtp_session_sent(s, n);
    }
    return want;
}

/* Play the row as the peer; rchunk bytes per input call (0: as given). */
static smtp_session_t *play(const session_row_t *r, size_t rchunk, size_t wchunk, run_t *run)
{
    smtp_session_t *s = smtp_session_new("x");
    smtp_want_t want = smtp_session_want(s);

    memset(run, 0, sizeof(*run));
    run->step_ok = true;
    for (const step_t *st = r->steps; st < r->steps + MAX_STEPS && st->kind != STEP_END; st++) {
        want = flush(s, want, wchunk, run);
        switch (st->kind) {
        case STEP_PEER:
            for (size_t off = 0; off < st->bytes.len;) {
                size_t n = rchunk == 0 || st->bytes.len - off < rchunk ? st->bytes.len - off : rchunk;
                want = smtp_session_input(s, (const uint8_t *)st->bytes.s + off, n);
                off += n;
                want = flush(s, want, wchunk, run);
            }
            break;
        case STEP_EOF:
            want = smtp_session_eof(s);
            break;
        case STEP_TLS:
            if (want != SMTP_WANT_TLS)
                run->step_ok = false;
            want = smtp_session_tls_ready(s);
            break;
        case STEP_END:
            break;
        }
    }
    flush(s, want, wchunk, run);
    run->sent[run->sent_len] = '\0';
    return s;
}

static void test_session_rows(void)
{
    static const struct {
        const char *mode;
        size_t rchunk, wchunk;
    } modes[] = {
        {"as given", 0, 4096},
        {"byte by byte", 1, 4096},
        {"byte by byte, one-byte writes", 1, 1},
    };

    for (size_t i = 0; i < sizeof(session_rows) / sizeof(session_rows[0]); i++) {
        const session_row_t *r = &session_rows[i];

        for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
            char name[160];
            const char *reason;
            run_t run;
            smtp_session_t *s = play(r, modes[m].rchunk, modes[m].wchunk, &run);
            smtp_error_t err = smtp_session_error(s, &reason);

            snprintf(name, sizeof(name), "%s (%s)", r->name, modes[m].mode);
            CHECK_STR(at(name, "sent"), run.sent, r->sent);
            CHECK_STR(at(name, "state"), smtp_state_name(smtp_session_state(s)), smtp_state_name(r->state));
            CHECK_STR(at(name, "error"), smtp_error_name(err), smtp_error_name(r->err));
            CHECK_INT(at(name, "want"), smtp_session_want(s), SMTP_WANT_CLOSE);
            CHECK_INT(at(name, "TLS when asked"), run.step_ok, true);
            if (r->reason_has != NULL)
                CHECK(strstr(reason, r->reason_has) != NULL, "%s: reason \"%s\" lacks \"%s\"",
                      at(name, "reason"), reason, r->reason_has);
            if (r->err == SMTP_OK)
                CHECK_STR(at(name, "no reason"), reason, "");
            smtp_session_free(s);
        }
    }
}

/* What a successful dialogue leaves for the report. */
static void test_session_seen(void)
{
    static const session_row_t row = {
        "seen", {PEER("220 faultd.test\0 \x1b[31mred\xff ESMTP\r\n"), PEER(EHLO_TLS), PEER(GO), TLS_,
                 PEER("250-mx.example.org\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 1000\r\n"), PEER(BYE)},
        SENT_ALL, SMTP_STATE_DONE, SMTP_OK, NULL};
    static const smtp_state_t path[] = {SMTP_STATE_BANNER, SMTP_STATE_EHLO, SMTP_STATE_STARTTLS,
                                        SMTP_STATE_TLS_HANDSHAKE, SMTP_STATE_EHLO_TLS, SMTP_STATE_QUIT,
                                        SMTP_STATE_DONE};
    const smtp_transition_t *trace;
    run_t run;
    smtp_session_t *s = play(&row, 0, 4096, &run);
    const smtp_seen_t *seen = smtp_session_seen(s);
    size_t n = smtp_session_trace(s, &trace);

    CHECK_STR("seen: state", smtp_state_name(smtp_session_state(s)), "done");
    CHECK_STR("seen: banner censored", seen->banner.text, "faultd.test? ?[31mred? ESMTP");
    CHECK_INT("seen: banner code", seen->banner.code, 220);
    CHECK_INT("seen: STARTTLS offered", seen->ehlo.starttls, true);
    CHECK_INT("seen: caps before TLS", seen->ehlo.ncaps, 3);
    CHECK_STR("seen: first cap before TLS", seen->ehlo.caps[0].keyword, "PIPELINING");
    CHECK_INT("seen: caps after TLS", seen->ehlo_tls.ncaps, 2);
    CHECK_STR("seen: AUTH after TLS", seen->ehlo_tls.caps[0].params, "PLAIN LOGIN");
    CHECK_INT("seen: no STARTTLS after TLS", seen->ehlo_tls.starttls, false);
    CHECK_INT("seen: tls", seen->tls, true);
    CHECK_INT("seen: bare LF", seen->bare_lf, false);
    CHECK_INT("seen: last reply", seen->last.code, 221);
    CHECK_STR("seen: last text", seen->last.text, "2.0.0 Bye");
    CHECK_INT("trace: length", n, 6);
    for (size_t i = 0; i < n && i + 1 < sizeof(path) / sizeof(path[0]); i++) {
        CHECK_STR("trace: from", smtp_state_name(trace[i].from), smtp_state_name(path[i]));
        CHECK_STR("trace: to", smtp_state_name(trace[i].to), smtp_state_name(path[i + 1]));
    }
    smtp_session_free(s);

    for (size_t i = 0; i < sizeof(session_rows) / sizeof(session_rows[0]); i++) {
        if (strcmp(session_rows[i].name, "happy path, bare LF") != 0)
            continue;
        s = play(&session_rows[i], 1, 1, &run);
        CHECK_INT("bare LF dialogue: seen", smtp_session_seen(s)->bare_lf, true);
        smtp_session_free(s);
    }
}

/* A 10 MB line must fail after about 2 KB, fed whole or dripped. */
static void test_session_long_line(void)
{
    size_t big = (size_t)10 << 20, fed = 0;
    uint8_t *line = malloc(big);
    smtp_session_t *s = smtp_session_new("x");
    const char *reason;

    memcpy(line, "220 ", 4);
    memset(line + 4, 'A', big - 4);
    smtp_session_input(s, line, big);
    CHECK_STR("10 MB line: error", smtp_error_name(smtp_session_error(s, &reason)), "line-too-long");
    CHECK(strstr(reason, "220 AAAA") != NULL, "10 MB line: reason \"%s\" lacks the line", reason);
    smtp_session_free(s);

    s = smtp_session_new("x");
    while (fed < big && smtp_session_input(s, line + fed, 1) == SMTP_WANT_READ)
        fed++;
    CHECK_INT("dripped long line: bytes taken before the failure", fed, SMTP_LINE_MAX);
    CHECK_STR("dripped long line: error", smtp_error_name(smtp_session_error(s, NULL)), "line-too-long");
    smtp_session_free(s);

    /* An endless EHLO reply (faultd's "endless"): stopped at 100 lines. */
    s = smtp_session_new("x");
    smtp_session_input(s, (const uint8_t *)BANNER, sizeof(BANNER) - 1);
    smtp_session_sent(s, 8);
    for (int i = 0; i < 1000 && smtp_session_want(s) == SMTP_WANT_READ; i++)
        smtp_session_input(s, (const uint8_t *)"250-XXXXXXXX\r\n", 14);
    CHECK_STR("endless EHLO: error", smtp_error_name(smtp_session_error(s, NULL)), "reply-too-long");
    CHECK_INT("endless EHLO: caps kept", smtp_session_seen(s)->ehlo.ncaps, SMTP_EHLO_CAPS_MAX);
    smtp_session_free(s);
    free(line);
}

/* Over-long EHLO replies in a session: the reason says which limit. */
static void test_session_big_replies(void)
{
    static const struct {
        const char *name;
        size_t lines, body_len, last_len;
        const char *reason_has;
    } rows[] = {
        {"EHLO of 64 KiB + 1", 32, 2048, 1985, "longer than 65536 bytes"},
        {"EHLO of 101 lines", 101, 20, 20, "longer than 100 lines"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t len;
        char *reply = gen_reply(rows[i].lines, rows[i].body_len, rows[i].last_len, "\r\n", &len);
        smtp_session_t *s = smtp_session_new("x");
        const char *reason;

        smtp_session_input(s, (const uint8_t *)BANNER, sizeof(BANNER) - 1);
        smtp_session_sent(s, 8);
        CHECK_INT(at(rows[i].name, "want"), smtp_session_input(s, (const uint8_t *)reply, len),
                  SMTP_WANT_CLOSE);
        CHECK_STR(at(rows[i].name, "error"), smtp_error_name(smtp_session_error(s, &reason)),
                  "reply-too-long");
        CHECK(strstr(reason, rows[i].reason_has) != NULL, "%s: reason \"%s\" lacks \"%s\"", rows[i].name,
              reason, rows[i].reason_has);
        smtp_session_free(s);
        free(reply);
    }
}

/* The driver's mistakes and the peer's talking out of turn. */
static void test_session_misuse(void)
{
    static const char *const bad_helo[] = {"", "a b", "x\r\nRCPT TO:<a@b>", "caf\xc3\xa9"};
    char long_name[SMTP_HELO_MAX + 2];
    uint8_t flood[SMTP_IN_CAP + 100];
    size_t len;
    smtp_session_t *s;

    for (size_t i = 0; i < sizeof(bad_helo) / sizeof(bad_helo[0]); i++) {
        s = smtp_session_new(bad_helo[i]);
        CHECK(s == NULL, "helo \"%s\": got a session, want NULL", bad_helo[i]);
        smtp_session_free(s);
    }
    memset(long_name, 'a', sizeof(long_name));
    long_name[SMTP_HELO_MAX + 1] = '\0';
    CHECK_INT("helo of 256 chars", smtp_helo_valid(long_name), false);
    long_name[SMTP_HELO_MAX] = '\0';
    CHECK_INT("helo of 255 chars", smtp_helo_valid(long_name), true);
    CHECK_INT("helo address literal", smtp_helo_valid("[IPv6:2001:db8::1]"), true);

    s = smtp_session_new("[192.0.2.1]");
    CHECK_INT("new: wants to read", smtp_session_want(s), SMTP_WANT_READ);
    smtp_session_pending(s, &len);
    CHECK_INT("new: nothing pending", len, 0);
    CHECK_INT("tls_ready too early", smtp_session_tls_ready(s), SMTP_WANT_CLOSE);
    CHECK_STR("tls_ready too early: error", smtp_error_name(smtp_session_error(s, NULL)), "usage");
    smtp_session_free(s);

    s = smtp_session_new("[192.0.2.1]");
    smtp_session_input(s, (const uint8_t *)BANNER, sizeof(BANNER) - 1);
    smtp_session_pending(s, &len);
    CHECK_INT("EHLO with a literal", len, strlen("EHLO [192.0.2.1]\r\n"));
    CHECK_INT("sent more than pending", smtp_session_sent(s, len + 1), SMTP_WANT_CLOSE);
    CHECK_STR("sent more than pending: error", smtp_error_name(smtp_session_error(s, NULL)), "usage");
    smtp_session_free(s);

    /* Calls after the end change nothing. */
    s = smtp_session_new("x");
    smtp_session_eof(s);
    CHECK_INT("after the end: sent", smtp_session_sent(s, 5), SMTP_WANT_CLOSE);
    CHECK_INT("after the end: tls_ready", smtp_session_tls_ready(s), SMTP_WANT_CLOSE);
    CHECK_INT("after the end: input", smtp_session_input(s, (const uint8_t *)BANNER, 5), SMTP_WANT_CLOSE);
    CHECK_STR("after the end: error", smtp_error_name(smtp_session_error(s, NULL)), "closed");
    smtp_session_free(s);

    /* A banner, then a flood before EHLO has gone out. */
    memset(flood, 'Z', sizeof(flood));
    memcpy(flood, BANNER, sizeof(BANNER) - 1);
    s = smtp_session_new("x");
    CHECK_INT("flood while writing", smtp_session_input(s, flood, sizeof(flood)), SMTP_WANT_CLOSE);
    CHECK_STR("flood while writing: error", smtp_error_name(smtp_session_error(s, NULL)), "unexpected-data");
    smtp_session_free(s);

    /* Held while writing, read once EHLO is out. */
    s = smtp_session_new("x");
    CHECK_INT("early reply held", smtp_session_input(s, (const uint8_t *)BANNER "550 no\r\n",
                                                    sizeof(BANNER "550 no\r\n") - 1), SMTP_WANT_WRITE);
    CHECK_INT("early reply read after the write", smtp_session_sent(s, 8), SMTP_WANT_WRITE);
    CHECK_STR("early reply: error", smtp_error_name(smtp_session_error(s, NULL)), "ehlo-rejected");
    smtp_session_free(s);
}

static void test_names(void)
{
    for (int e = 0; e < SMTP_ERR_COUNT; e++) {
        const char *name = smtp_error_name((smtp_error_t)e);
        CHECK(name != NULL && strcmp(name, "unknown") != 0, "error %d has no name", e);
    }
    for (int st = 0; st < SMTP_STATE_COUNT; st++) {
        const char *name = smtp_state_name((smtp_state_t)st);
        CHECK(name != NULL && strcmp(name, "unknown") != 0, "state %d has no name", st);
    }
    CHECK_STR("error out of range", smtp_error_name(SMTP_ERR_COUNT), "unknown");
    CHECK_STR("state out of range", smtp_state_name(SMTP_STATE_COUNT), "unknown");
}

int main(void)
{
    test_reply_rows();
    test_limit_rows();
    test_ehlo_rows();
    test_ehlo_bounds();
    test_session_rows();
    test_session_seen();
    test_session_long_line();
    test_session_big_replies();
    test_session_misuse();
    test_names();
    return check_summary();
}
