/* smtp.c - the SMTP side of a STARTTLS probe: reply and EHLO parsers and
 * the session state machine (banner, EHLO, STARTTLS, EHLO, QUIT). */
#include "smtp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "EHLO " + the longest name + CRLF: the longest command we send. */
#define SMTP_OUT_CAP (5 + SMTP_HELO_MAX + 2)

/* A line must always fit, or a full buffer could never make progress. */
_Static_assert(SMTP_IN_CAP >= SMTP_LINE_MAX + 2, "input buffer smaller than a line");
_Static_assert(SMTP_STATE_FAILED - SMTP_STATE_BANNER < SMTP_TRACE_MAX, "trace too short");

static const char *const smtp_error_names[SMTP_ERR_COUNT] = {
    [SMTP_OK] = "ok",
    [SMTP_ERR_LINE_TOO_LONG] = "line-too-long",
    [SMTP_ERR_REPLY_TOO_LONG] = "reply-too-long",
    [SMTP_ERR_BAD_REPLY] = "bad-reply",
    [SMTP_ERR_BAD_CODE_MIX] = "bad-code-mix",
    [SMTP_ERR_UNEXPECTED_CODE] = "unexpected-code",
    [SMTP_ERR_BANNER_REJECTED] = "banner-rejected",
    [SMTP_ERR_EHLO_REJECTED] = "ehlo-rejected",
    [SMTP_ERR_NO_STARTTLS] = "no-starttls",
    [SMTP_ERR_STARTTLS_REJECTED] = "starttls-rejected",
    [SMTP_ERR_STARTTLS_INJECTION] = "starttls-injection",
    [SMTP_ERR_UNEXPECTED_DATA] = "unexpected-data",
    [SMTP_ERR_CLOSED] = "closed",
    [SMTP_ERR_USAGE] = "usage",
};

static const char *const smtp_state_names[SMTP_STATE_COUNT] = {
    [SMTP_STATE_BANNER] = "banner",
    [SMTP_STATE_EHLO] = "ehlo",
    [SMTP_STATE_STARTTLS] = "starttls",
    [SMTP_STATE_TLS_HANDSHAKE] = "tls-handshake",
    [SMTP_STATE_EHLO_TLS] = "ehlo-tls",
    [SMTP_STATE_QUIT] = "quit",
    [SMTP_STATE_DONE] = "done",
    [SMTP_STATE_FAILED] = "failed",
};

const char *smtp_error_name(smtp_error_t err)
{
    if ((unsigned)err >= SMTP_ERR_COUNT)
        return "unknown";
    return smtp_error_names[err];
}

const char *smtp_state_name(smtp_state_t state)
{
    if ((unsigned)state >= SMTP_STATE_COUNT)
        return "unknown";
    return smtp_state_names[state];
}

/* ---- text ------------------------------------------------------------ */

static char smtp_censor_byte(uint8_t c)
{
    return (c >= 0x20 && c <= 0x7e) ? (char)c : '?';
}

static char smtp_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static bool smtp_is_blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* Censor src[0, len) into dst (room bytes plus a NUL); true when all fit. */
static bool smtp_censor(char *dst, size_t room, const uint8_t *src, size_t len, bool upper)
{
    size_t n = len < room ? len : room;

    for (size_t i = 0; i < n; i++) {
        char c = smtp_censor_byte(src[i]);
        dst[i] = upper ? smtp_upper(c) : c;
    }
    dst[n] = '\0';
    return n == len;
}

/* ASCII-only, so that no locale can make "starttls" differ from STARTTLS. */
static bool smtp_keyword_is(const uint8_t *word, size_t len, const char *keyword)
{
    size_t klen = strlen(keyword);

    if (len != klen)
        return false;
    for (size_t i = 0; i < len; i++)
        if (smtp_upper((char)word[i]) != smtp_upper(keyword[i]))
            return false;
    return true;
}

/* ---- the reply parser ------------------------------------------------ */

/* One reply line; text points into the parsed buffer. */
typedef struct {
    int code;
    bool last;
    bool bare_lf;
    const uint8_t *text;
    size_t text_len;
    size_t wire_len;            /* 0: no whole line yet */
} smtp_line_t;

static bool smtp_digit_in(uint8_t c, char lo, char hi)
{
    return c >= (uint8_t)lo && c <= (uint8_t)hi;
}

/* Parse the line starting at buf[off].  SMTP_OK with line->wire_len 0
 * when it has not ended yet. */
static smtp_error_t smtp_line_parse(const uint8_t *buf, size_t len, size_t off, smtp_line_t *line)
{
    size_t avail = len - off;
    /* A line of SMTP_LINE_MAX bytes and its CRLF: where the LF can be. */
    size_t scan = avail < SMTP_LINE_MAX + 2 ? avail : SMTP_LINE_MAX + 2;
    const uint8_t *p = buf + off;
    const uint8_t *lf;
    size_t body;

    memset(line, 0, sizeof(*line));
    lf = scan > 0 ? memchr(p, '\n', scan) : NULL;
    if (lf == NULL) {
        /* Decide as soon as the line cannot fit any more: a 10 MB line
         * fails after SMTP_LINE_MAX + 1 bytes, not at its end.  A last CR
         * may still be the start of the CRLF. */
        if (avail >= SMTP_LINE_MAX + 2)
            return SMTP_ERR_LINE_TOO_LONG;
        body = (avail > 0 && p[avail - 1] == '\r') ? avail - 1 : avail;
        return body > SMTP_LINE_MAX ? SMTP_ERR_LINE_TOO_LONG : SMTP_OK;
    }
    body = (size_t)(lf - p);
    /* RFC 5321 §2.3.8 ends lines with CRLF; a bare LF is accepted (as
     * Postfix does) and remembered. */
    if (body > 0 && p[body - 1] == '\r')
        body--;
    else
        line->bare_lf = true;
    if (body > SMTP_LINE_MAX)
        return SMTP_ERR_LINE_TOO_LONG;
    /* RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39, then "-" and
     * more lines, or [SP textstring] and the end of the reply. */
    if (body < 3 || !smtp_digit_in(p[0], '2', '5') || !smtp_digit_in(p[1], '0', '5') ||
        !smtp_digit_in(p[2], '0', '9'))
        return SMTP_ERR_BAD_REPLY;
    if (body == 3)
        line->last = true;
    else if (p[3] == ' ')
        line->last = true;
    else if (p[3] != '-')
        return SMTP_ERR_BAD_REPLY;
    line->code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    line->text = p + (body > 3 ? 4 : 3);
    line->text_len = body > 3 ? body - 4 : 0;
    line->wire_len = (size_t)(lf - p) + 1;
    return SMTP_OK;
}

static void smtp_reply_add_text(smtp_reply_t *reply, const uint8_t *text, size_t len)
{
    size_t room = SMTP_TEXT_KEEP - reply->text_len;

    if (len == 0)
        return;
    if (reply->text_len > 0) {
        if (room == 0) {
            reply->truncated = true;
            return;
        }
        reply->text[reply->text_len++] = ' ';
        room--;
    }
    if (!smtp_censor(reply->text + reply->text_len, room, text, len, false))
        reply->truncated = true;
    reply->text_len += len < room ? len : room;
}

static smtp_error_t smtp_reply_add(smtp_reply_t *reply, const smtp_line_t *line)
{
    /* RFC 5321 §4.2.1: every line of a multiline reply has the same code. */
    if (reply->lines > 0 && line->code != reply->code)
        return SMTP_ERR_BAD_CODE_MIX;
    if (reply->lines == SMTP_REPLY_LINES_MAX || line->wire_len > SMTP_REPLY_BYTES_MAX - reply->bytes)
        return SMTP_ERR_REPLY_TOO_LONG;
    reply->code = line->code;
    reply->lines++;
    reply->bytes += line->wire_len;
    reply->bare_lf |= line->bare_lf;
    reply->complete = line->last;
    smtp_reply_add_text(reply, line->text, line->text_len);
    return SMTP_OK;
}

void smtp_reply_init(smtp_reply_t *reply)
{
    memset(reply, 0, sizeof(*reply));
}

smtp_error_t smtp_reply_parse(smtp_reply_t *reply, smtp_ehlo_t *ehlo,
                              const uint8_t *buf, size_t len, size_t *consumed)
{
    smtp_error_t err = SMTP_OK;
    size_t off = 0;

    while (!reply->complete && off < len) {
        smtp_line_t line;

        err = smtp_line_parse(buf, len, off, &line);
        if (err != SMTP_OK || line.wire_len == 0)
            break;
        err = smtp_reply_add(reply, &line);
        if (err != SMTP_OK)
            break;
        off += line.wire_len;
        if (ehlo != NULL && line.code == 250)
            smtp_ehlo_add_line(ehlo, line.text, line.text_len);
    }
    *consumed = off;
    return err;
}

/* ---- the EHLO parser --------------------------------------------------- */

void smtp_ehlo_init(smtp_ehlo_t *ehlo)
{
    memset(ehlo, 0, sizeof(*ehlo));
}

void smtp_ehlo_add_line(smtp_ehlo_t *ehlo, const uint8_t *text, size_t len)
{
    size_t i = 0, kw, kw_len, params, params_len;
    smtp_ehlo_cap_t *cap;

    ehlo->lines++;
    /* RFC 5321 §4.1.1.1: the first line is "Domain [SP ehlo-greet]". */
    if (ehlo->lines == 1)
        return;
    /* ehlo-line = ehlo-keyword *( SP ehlo-param ), read leniently: blanks
     * around the keyword are skipped and '=' ends it too. */
    while (i < len && smtp_is_blank(text[i]))
        i++;
    kw = i;
    while (i < len && !smtp_is_blank(text[i]) && text[i] != '=')
        i++;
    kw_len = i - kw;
    if (kw_len == 0)
        return;
    if (i < len)
        i++;
    while (i < len && smtp_is_blank(text[i]))
        i++;
    params = i;
    params_len = len - params;
    while (params_len > 0 && smtp_is_blank(text[params + params_len - 1]))
        params_len--;

    /* RFC 3207 §2: the keyword is STARTTLS, matched on the raw bytes
     * (RFC 5321 §2.4: keywords are case-insensitive). */
    if (smtp_keyword_is(text + kw, kw_len, "STARTTLS"))
        ehlo->starttls = true;
    if (ehlo->ncaps == SMTP_EHLO_CAPS_MAX) {
        ehlo->dropped++;
        return;
    }
    cap = &ehlo->caps[ehlo->ncaps++];
    if (!smtp_censor(cap->keyword, SMTP_EHLO_KEYWORD_KEEP, text + kw, kw_len, true))
        ehlo->truncated = true;
    if (!smtp_censor(cap->params, SMTP_EHLO_PARAMS_KEEP, text + params, params_len, false))
        ehlo->truncated = true;
}

const smtp_ehlo_cap_t *smtp_ehlo_find(const smtp_ehlo_t *ehlo, const char *keyword)
{
    for (size_t i = 0; i < ehlo->ncaps; i++) {
        const char *k = ehlo->caps[i].keyword;

        if (smtp_keyword_is((const uint8_t *)k, strlen(k), keyword))
            return &ehlo->caps[i];
    }
    return NULL;
}

/* ---- bounded buffers --------------------------------------------------- */

/* Live bytes are data[off, off + len). */
typedef struct {
    uint8_t *data;
    size_t cap, off, len;
} smtp_buf_t;

/* Append what fits of src[0, n); returns how much that was. */
static size_t smtp_buf_put(smtp_buf_t *b, const uint8_t *src, size_t n)
{
    size_t room;

    if (b->off > 0 && n > b->cap - b->off - b->len) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
    }
    room = b->cap - b->off - b->len;
    if (n > room)
        n = room;
    if (n > 0)
        memcpy(b->data + b->off + b->len, src, n);
    b->len += n;
    return n;
}

static const uint8_t *smtp_buf_peek(const smtp_buf_t *b, size_t *len)
{
    *len = b->len;
    return b->data + b->off;
}

static void smtp_buf_drop(smtp_buf_t *b, size_t n)
{
    if (n > b->len)
        n = b->len;
    b->off += n;
    b->len -= n;
    if (b->len == 0)
        b->off = 0;
}

static void smtp_buf_clear(smtp_buf_t *b)
{
    b->off = 0;
    b->len = 0;
}

/* ---- the session ----------------------------------------------------- */

struct smtp_session {
    smtp_state_t state;
    smtp_error_t error;
    char reason[SMTP_REASON_MAX];
    size_t ntrace;
    smtp_transition_t trace[SMTP_TRACE_MAX];
    smtp_seen_t seen;
    smtp_reply_t reply;         /* the reply being read */
    size_t in_unread;           /* bytes of the current input() not yet in `in` */
    smtp_buf_t in, out;
    char helo[SMTP_HELO_MAX + 1];
    uint8_t in_mem[SMTP_IN_CAP];
    uint8_t out_mem[SMTP_OUT_CAP];
};

typedef void (*smtp_reply_handler_t)(smtp_session_t *s, const smtp_reply_t *reply);

/* The only writer of s->state (STYLE.md rule 5); the trace is the log. */
static void smtp_session_set_state(smtp_session_t *s, smtp_state_t to)
{
    if (s->ntrace < SMTP_TRACE_MAX)
        s->trace[s->ntrace++] = (smtp_transition_t){.from = s->state, .to = to};
    s->state = to;
}

static bool smtp_state_final(smtp_state_t state)
{
    return state == SMTP_STATE_DONE || state == SMTP_STATE_FAILED;
}

static bool smtp_code_rejects(int code)
{
    return code / 100 == 4 || code / 100 == 5;
}

/* Queue "verb[ arg]\r\n"; the output is empty whenever a command is due. */
static void smtp_session_command(smtp_session_t *s, const char *verb, const char *arg)
{
    smtp_buf_clear(&s->out);
    smtp_buf_put(&s->out, (const uint8_t *)verb, strlen(verb));
    if (arg != NULL) {
        smtp_buf_put(&s->out, (const uint8_t *)" ", 1);
        smtp_buf_put(&s->out, (const uint8_t *)arg, strlen(arg));
    }
    smtp_buf_put(&s->out, (const uint8_t *)"\r\n", 2);
}

static void smtp_session_quit(smtp_session_t *s)
{
    smtp_session_command(s, "QUIT", NULL);
    smtp_session_set_state(s, SMTP_STATE_QUIT);
}

/* The dialogue is over: the outcome was decided before. */
static void smtp_session_finish(smtp_session_t *s)
{
    smtp_buf_clear(&s->out);
    smtp_session_set_state(s, s->error == SMTP_OK ? SMTP_STATE_DONE : SMTP_STATE_FAILED);
}

/* Record the first error.  A peer that answered in good order but said no
 * still gets a QUIT (RFC 5321 §3.1: after a 554 greeting the server waits
 * for one; §4.1.1.10); a peer that broke the protocol is just dropped. */
__attribute__((format(printf, 4, 5)))
static void smtp_session_fail(smtp_session_t *s, smtp_error_t err, bool say_quit, const char *fmt, ...)
{
    if (s->error == SMTP_OK) {
        va_list ap;

        s->error = err;
        va_start(ap, fmt);
        vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
        va_end(ap);
    }
    if (say_quit && s->state != SMTP_STATE_QUIT)
        smtp_session_quit(s);
    else
        smtp_session_finish(s);
}

static void smtp_on_banner(smtp_session_t *s, const smtp_reply_t *reply)
{
    s->seen.banner = *reply;
    if (reply->code == 220) {
        smtp_session_command(s, "EHLO", s->helo);
        smtp_session_set_state(s, SMTP_STATE_EHLO);
    } else if (smtp_code_rejects(reply->code)) {
        smtp_session_fail(s, SMTP_ERR_BANNER_REJECTED, true, "greeting rejected: %d %s", reply->code,
                          reply->text);
    } else {
        smtp_session_fail(s, SMTP_ERR_UNEXPECTED_CODE, true, "greeting with code %d, want 220: %s",
                          reply->code, reply->text);
    }
}

/* No HELO fallback: STARTTLS is an ESMTP extension (RFC 3207 §2). */
static void smtp_on_ehlo(smtp_session_t *s, const smtp_reply_t *reply)
{
    if (reply->code == 250 && s->seen.ehlo.starttls) {
        smtp_session_command(s, "STARTTLS", NULL);
        smtp_session_set_state(s, SMTP_STATE_STARTTLS);
    } else if (reply->code == 250) {
        /* RFC 7672 §2.2: whether this is fatal (a DANE host) or merely
         * cleartext is the scanner's call; for the probe it is the end. */
        smtp_session_fail(s, SMTP_ERR_NO_STARTTLS, true, "STARTTLS not offered in the EHLO reply");
    } else if (smtp_code_rejects(reply->code)) {
        smtp_session_fail(s, SMTP_ERR_EHLO_REJECTED, true, "EHLO rejected: %d %s", reply->code,
                          reply->text);
    } else {
        smtp_session_fail(s, SMTP_ERR_UNEXPECTED_CODE, true, "EHLO answered with code %d, want 250: %s",
                          reply->code, reply->text);
    }
}

static void smtp_on_starttls(smtp_session_t *s, const smtp_reply_t *reply)
{
    size_t extra = s->in.len + s->in_unread;

    if (reply->code == 220 && extra > 0) {
        /* RFC 3207 §4.2, CVE-2011-0411: anything read before the handshake
         * came in cleartext; taken as TLS data it would be forged.  Nor may
         * TLS start over it, so drop the connection. */
        smtp_session_fail(s, SMTP_ERR_STARTTLS_INJECTION, false,
                          "%zu bytes of plaintext after the STARTTLS 220 reply (response injection)",
                          extra);
    } else if (reply->code == 220) {
        smtp_session_set_state(s, SMTP_STATE_TLS_HANDSHAKE);
    } else if (smtp_code_rejects(reply->code)) {
        /* RFC 3207 §4: 454 (TLS not available), 501 (syntax). */
        smtp_session_fail(s, SMTP_ERR_STARTTLS_REJECTED, true, "STARTTLS rejected: %d %s", reply->code,
                          reply->text);
    } else {
        smtp_session_fail(s, SMTP_ERR_UNEXPECTED_CODE, true,
                          "STARTTLS answered with code %d, want 220: %s", reply->code, reply->text);
    }
}

/* RFC 3207 §4.2: the client SHOULD send EHLO first thing after TLS. */
static void smtp_on_ehlo_tls(smtp_session_t *s, const smtp_reply_t *reply)
{
    if (reply->code == 250) {
        smtp_session_quit(s);
    } else if (smtp_code_rejects(reply->code)) {
        smtp_session_fail(s, SMTP_ERR_EHLO_REJECTED, true, "EHLO after TLS rejected: %d %s",
                          reply->code, reply->text);
    } else {
        smtp_session_fail(s, SMTP_ERR_UNEXPECTED_CODE, true,
                          "EHLO after TLS answered with code %d, want 250: %s", reply->code, reply->text);
    }
}

/* RFC 5321 §4.1.1.10: 221 is due, but whatever comes, we are done. */
static void smtp_on_quit(smtp_session_t *s, const smtp_reply_t *reply)
{
    (void)reply;
    smtp_session_finish(s);
}

/* The states in which a reply is due, and who reads it. */
static const smtp_reply_handler_t smtp_reply_handlers[SMTP_STATE_COUNT] = {
    [SMTP_STATE_BANNER] = smtp_on_banner,
    [SMTP_STATE_EHLO] = smtp_on_ehlo,
    [SMTP_STATE_STARTTLS] = smtp_on_starttls,
    [SMTP_STATE_EHLO_TLS] = smtp_on_ehlo_tls,
    [SMTP_STATE_QUIT] = smtp_on_quit,
};

static smtp_ehlo_t *smtp_session_ehlo_for(smtp_session_t *s)
{
    if (s->state == SMTP_STATE_EHLO)
        return &s->seen.ehlo;
    if (s->state == SMTP_STATE_EHLO_TLS)
        return &s->seen.ehlo_tls;
    return NULL;
}

/* A reply that cannot be read ends the session: say which and show the
 * start of the offending line, which is what is left in the buffer. */
static void smtp_session_parse_failed(smtp_session_t *s, smtp_error_t err)
{
    char what[64];
    size_t len, n = 0;
    const uint8_t *buf = smtp_buf_peek(&s->in, &len);

    /* The outcome was decided before QUIT; a garbled goodbye changes nothing. */
    if (s->state == SMTP_STATE_QUIT) {
        smtp_session_finish(s);
        return;
    }
    while (n < len && n < sizeof(what) - 1 && buf[n] != '\r' && buf[n] != '\n')
        n++;
    smtp_censor(what, n, buf, n, false);
    switch (err) {
    case SMTP_ERR_LINE_TOO_LONG:
        smtp_session_fail(s, err, false, "%s reply line longer than %d bytes: \"%s...\"",
                          smtp_state_name(s->state), SMTP_LINE_MAX, what);
        break;
    case SMTP_ERR_REPLY_TOO_LONG:
        if (s->reply.lines == SMTP_REPLY_LINES_MAX)
            smtp_session_fail(s, err, false, "%s reply longer than %d lines", smtp_state_name(s->state),
                              SMTP_REPLY_LINES_MAX);
        else
            smtp_session_fail(s, err, false, "%s reply longer than %d bytes", smtp_state_name(s->state),
                              SMTP_REPLY_BYTES_MAX);
        break;
    case SMTP_ERR_BAD_CODE_MIX:
        smtp_session_fail(s, err, false, "%s reply changes its code from %d: \"%s\"",
                          smtp_state_name(s->state), s->reply.code, what);
        break;
    default:
        smtp_session_fail(s, err, false, "%s reply line is not \"ddd text\" (RFC 5321 4.2): \"%s\"",
                          smtp_state_name(s->state), what);
        break;
    }
}

/* Read buffered replies while one is due and our command has gone out
 * (lock-step: we never pipeline, so a reply read earlier waits). */
static void smtp_session_advance(smtp_session_t *s)
{
    while (smtp_reply_handlers[s->state] != NULL && s->out.len == 0 && s->in.len > 0) {
        size_t len, used;
        const uint8_t *buf = smtp_buf_peek(&s->in, &len);
        smtp_error_t err = smtp_reply_parse(&s->reply, smtp_session_ehlo_for(s), buf, len, &used);

        smtp_buf_drop(&s->in, used);
        s->seen.bare_lf |= s->reply.bare_lf;
        if (err != SMTP_OK) {
            smtp_session_parse_failed(s, err);
            return;
        }
        if (!s->reply.complete)
            return;
        s->seen.last = s->reply;
        smtp_reply_init(&s->reply);
        smtp_reply_handlers[s->state](s, &s->seen.last);
    }
}

bool smtp_helo_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > SMTP_HELO_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((uint8_t)name[i] <= 0x20 || (uint8_t)name[i] > 0x7e)
            return false;
    return true;
}

smtp_session_t *smtp_session_new(const char *helo_name)
{
    smtp_session_t *s;

    if (!smtp_helo_valid(helo_name))
        return NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->state = SMTP_STATE_BANNER;
    s->in = (smtp_buf_t){.data = s->in_mem, .cap = sizeof(s->in_mem)};
    s->out = (smtp_buf_t){.data = s->out_mem, .cap = sizeof(s->out_mem)};
    memcpy(s->helo, helo_name, strlen(helo_name) + 1);
    return s;
}

void smtp_session_free(smtp_session_t *s)
{
    free(s);
}

smtp_want_t smtp_session_want(const smtp_session_t *s)
{
    if (smtp_state_final(s->state))
        return SMTP_WANT_CLOSE;
    if (s->out.len > 0)
        return SMTP_WANT_WRITE;
    if (s->state == SMTP_STATE_TLS_HANDSHAKE)
        return SMTP_WANT_TLS;
    return SMTP_WANT_READ;
}

smtp_want_t smtp_session_input(smtp_session_t *s, const uint8_t *data, size_t len)
{
    if (smtp_state_final(s->state) || len == 0)
        return smtp_session_want(s);
    if (s->state == SMTP_STATE_TLS_HANDSHAKE) {
        /* Read after the 220, before the handshake: the same injection. */
        smtp_session_fail(s, SMTP_ERR_STARTTLS_INJECTION, false,
                          "%zu bytes of plaintext after the STARTTLS 220 reply (response injection)", len);
        return smtp_session_want(s);
    }
    while (len > 0 && !smtp_state_final(s->state)) {
        size_t n = smtp_buf_put(&s->in, data, len);

        if (n == 0) {
            smtp_session_fail(s, SMTP_ERR_UNEXPECTED_DATA, false,
                              "more than %d bytes from the peer while our command was unsent",
                              SMTP_IN_CAP);
            break;
        }
        data += n;
        len -= n;
        s->in_unread = len;
        smtp_session_advance(s);
    }
    s->in_unread = 0;
    return smtp_session_want(s);
}

smtp_want_t smtp_session_eof(smtp_session_t *s)
{
    if (smtp_state_final(s->state))
        return smtp_session_want(s);
    if (s->state == SMTP_STATE_QUIT)
        smtp_session_finish(s);
    else
        smtp_session_fail(s, SMTP_ERR_CLOSED, false, "connection closed by the peer in state %s%s",
                          smtp_state_name(s->state),
                          s->reply.lines > 0 || s->in.len > 0 ? ", in the middle of a reply" : "");
    return smtp_session_want(s);
}

const uint8_t *smtp_session_pending(const smtp_session_t *s, size_t *len)
{
    return smtp_buf_peek(&s->out, len);
}

smtp_want_t smtp_session_sent(smtp_session_t *s, size_t n)
{
    if (smtp_state_final(s->state))
        return smtp_session_want(s);
    if (n > s->out.len) {
        smtp_session_fail(s, SMTP_ERR_USAGE, false, "%zu bytes reported sent, %zu were pending", n,
                          s->out.len);
        return smtp_session_want(s);
    }
    smtp_buf_drop(&s->out, n);
    smtp_session_advance(s);
    return smtp_session_want(s);
}

smtp_want_t smtp_session_tls_ready(smtp_session_t *s)
{
    if (smtp_state_final(s->state))
        return smtp_session_want(s);
    if (s->state != SMTP_STATE_TLS_HANDSHAKE) {
        smtp_session_fail(s, SMTP_ERR_USAGE, false, "TLS reported ready in state %s",
                          smtp_state_name(s->state));
        return smtp_session_want(s);
    }
    s->seen.tls = true;
    smtp_session_command(s, "EHLO", s->helo);
    smtp_session_set_state(s, SMTP_STATE_EHLO_TLS);
    return smtp_session_want(s);
}

smtp_state_t smtp_session_state(const smtp_session_t *s)
{
    return s->state;
}

smtp_error_t smtp_session_error(const smtp_session_t *s, const char **reason)
{
    if (reason != NULL)
        *reason = s->reason;
    return s->error;
}

const smtp_seen_t *smtp_session_seen(const smtp_session_t *s)
{
    return &s->seen;
}

size_t smtp_session_trace(const smtp_session_t *s, const smtp_transition_t **trace)
{
    *trace = s->trace;
    return s->ntrace;
}
