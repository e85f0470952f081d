/* fuzz_smtp.c - libFuzzer target for probes/smtp: the reply parser, the
 * EHLO parser and whole sessions over arbitrary server bytes.
 *
 * Besides "no crash, no sanitizer report", it checks what the module
 * promises: consumed never exceeds the input, every stored string is
 * printable ASCII, plaintext read before the handshake is always taken
 * for injection, the machine settles after every call, and a session fed
 * line by line ends exactly as one fed byte by byte (how TCP cuts the
 * stream must not matter).
 */
#include "fuzz.h"
#include "smtp.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Byte-by-byte sessions cost a call per byte: only for inputs this small. */
#define FUZZ_DRIP_MAX 16384


static void fuzz_check_text(const char *text, size_t max)
{
    size_t len = strlen(text);

    FUZZ_ASSERT(len <= max);
    for (size_t i = 0; i < len; i++)
        FUZZ_ASSERT(text[i] >= 0x20 && text[i] <= 0x7e);
}

static void fuzz_check_reply(const smtp_reply_t *reply)
{
    fuzz_check_text(reply->text, SMTP_TEXT_KEEP);
    FUZZ_ASSERT(strlen(reply->text) == reply->text_len);
    FUZZ_ASSERT(reply->lines <= SMTP_REPLY_LINES_MAX);
    FUZZ_ASSERT(reply->bytes <= SMTP_REPLY_BYTES_MAX);
    FUZZ_ASSERT(reply->code == 0 || (reply->code >= 200 && reply->code <= 559));
}

static void fuzz_check_ehlo(const smtp_ehlo_t *ehlo)
{
    FUZZ_ASSERT(ehlo->ncaps <= SMTP_EHLO_CAPS_MAX);
    for (size_t i = 0; i < ehlo->ncaps; i++) {
        fuzz_check_text(ehlo->caps[i].keyword, SMTP_EHLO_KEYWORD_KEEP);
        fuzz_check_text(ehlo->caps[i].params, SMTP_EHLO_PARAMS_KEEP);
        FUZZ_ASSERT(ehlo->caps[i].keyword[0] != '\0');
        FUZZ_ASSERT(smtp_ehlo_find(ehlo, ehlo->caps[i].keyword) != NULL);
    }
}

/* Reply after reply, as a client would read them, EHLO parser attached. */
static void fuzz_replies(const uint8_t *data, size_t size)
{
    size_t off = 0;

    while (off < size) {
        smtp_reply_t reply;
        smtp_ehlo_t ehlo;
        size_t used = 0;
        smtp_error_t err;

        smtp_reply_init(&reply);
        smtp_ehlo_init(&ehlo);
        err = smtp_reply_parse(&reply, &ehlo, data + off, size - off, &used);
        FUZZ_ASSERT(used <= size - off);
        fuzz_check_reply(&reply);
        fuzz_check_ehlo(&ehlo);
        FUZZ_ASSERT(smtp_error_name(err) != NULL);
        if (err != SMTP_OK || !reply.complete)
            break;
        FUZZ_ASSERT(used > 0);
        off += used;
    }
}

/* The EHLO line parser alone, on every LF-separated piece. */
static void fuzz_ehlo_lines(const uint8_t *data, size_t size)
{
    smtp_ehlo_t ehlo;
    size_t start = 0;

    smtp_ehlo_init(&ehlo);
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            smtp_ehlo_add_line(&ehlo, data + start, i - start);
            start = i + 1;
        }
    }
    fuzz_check_ehlo(&ehlo);
}

typedef struct {
    smtp_state_t state;
    smtp_error_t err;
    size_t sent;
    smtp_reply_t banner;
    smtp_ehlo_t ehlo;
} fuzz_outcome_t;

/* Field by field: struct padding is not part of the outcome. */
static bool fuzz_same_reply(const smtp_reply_t *a, const smtp_reply_t *b)
{
    return a->code == b->code && a->lines == b->lines && a->bytes == b->bytes &&
           a->complete == b->complete && a->bare_lf == b->bare_lf && a->truncated == b->truncated &&
           strcmp(a->text, b->text) == 0;
}

static bool fuzz_same_ehlo(const smtp_ehlo_t *a, const smtp_ehlo_t *b)
{
    if (a->lines != b->lines || a->starttls != b->starttls || a->truncated != b->truncated ||
        a->dropped != b->dropped || a->ncaps != b->ncaps)
        return false;
    for (size_t i = 0; i < a->ncaps; i++)
        if (strcmp(a->caps[i].keyword, b->caps[i].keyword) != 0 ||
            strcmp(a->caps[i].params, b->caps[i].params) != 0)
            return false;
    return true;
}

/* A driver that writes at once and hands over a TLS connection when asked;
 * the input is cut after every LF (line mode), after every byte (drip),
 * or at three points taken from the input itself, with writes of three
 * bytes and, for inputs of even length, a driver that reads on before
 * it starts TLS (which must end in injection). */
typedef enum { FUZZ_LINES, FUZZ_DRIP, FUZZ_CUTS } fuzz_mode_t;

static smtp_want_t fuzz_drive(smtp_session_t *s, smtp_want_t want, size_t *sent, size_t wchunk, bool tls)
{
    for (int rounds = 0; rounds < 256; rounds++) {
        if (want == SMTP_WANT_WRITE) {
            size_t len;
            const uint8_t *p = smtp_session_pending(s, &len);
            size_t n = len < wchunk ? len : wchunk;

            FUZZ_ASSERT(len > 0 && p != NULL);
            *sent += n;
            want = smtp_session_sent(s, n);
        } else if (want == SMTP_WANT_TLS && tls) {
            want = smtp_session_tls_ready(s);
        } else {
            return want;
        }
    }
    abort();    /* the machine must settle: it has 6 transitions at most */
}

static void fuzz_session(const uint8_t *data, size_t size, fuzz_mode_t mode, fuzz_outcome_t *out)
{
    smtp_session_t *s = smtp_session_new("fuzz.example");
    size_t cuts[3], ncut = 0, off = 0, wchunk = mode == FUZZ_CUTS ? 3 : SIZE_MAX;
    bool tls = mode != FUZZ_CUTS || size % 2 == 1;
    smtp_want_t want;
    const smtp_transition_t *trace;
    const char *reason;

    if (s == NULL)
        abort();
    memset(out, 0, sizeof(*out));
    if (mode == FUZZ_CUTS) {
        for (size_t i = 0; i < 3; i++)
            cuts[i] = size > 0 ? (size_t)data[i % size] * (size_t)(i + 1) % (size + 1) : 0;
    }
    want = fuzz_drive(s, smtp_session_want(s), &out->sent, wchunk, tls);
    while (off < size && want != SMTP_WANT_CLOSE) {
        size_t end = size;

        if (mode == FUZZ_DRIP) {
            end = off + 1;
        } else if (mode == FUZZ_LINES) {
            const uint8_t *lf = memchr(data + off, '\n', size - off);
            end = lf != NULL ? (size_t)(lf - data) + 1 : size;
        } else {
            for (size_t i = 0; i < 3; i++)
                if (cuts[i] > off && cuts[i] < end)
                    end = cuts[i];
            ncut++;
        }
        if (want == SMTP_WANT_TLS) {
            /* Any byte read between the 220 and the handshake is injected. */
            want = smtp_session_input(s, data + off, end - off);
            FUZZ_ASSERT(want == SMTP_WANT_CLOSE);
            FUZZ_ASSERT(smtp_session_error(s, NULL) == SMTP_ERR_STARTTLS_INJECTION);
        } else {
            want = smtp_session_input(s, data + off, end - off);
        }
        off = end;
        want = fuzz_drive(s, want, &out->sent, wchunk, tls);
    }
    want = fuzz_drive(s, want, &out->sent, wchunk, true);
    if (want != SMTP_WANT_CLOSE)
        want = fuzz_drive(s, smtp_session_eof(s), &out->sent, wchunk, true);
    FUZZ_ASSERT(want == SMTP_WANT_CLOSE);
    FUZZ_ASSERT(ncut <= 4);

    out->state = smtp_session_state(s);
    out->err = smtp_session_error(s, &reason);
    FUZZ_ASSERT(out->state == SMTP_STATE_DONE || out->state == SMTP_STATE_FAILED);
    FUZZ_ASSERT((out->err == SMTP_OK) == (out->state == SMTP_STATE_DONE));
    fuzz_check_text(reason, SMTP_REASON_MAX - 1);
    FUZZ_ASSERT(smtp_session_trace(s, &trace) <= 6);
    fuzz_check_reply(&smtp_session_seen(s)->banner);
    fuzz_check_reply(&smtp_session_seen(s)->last);
    fuzz_check_ehlo(&smtp_session_seen(s)->ehlo);
    fuzz_check_ehlo(&smtp_session_seen(s)->ehlo_tls);
    out->banner = smtp_session_seen(s)->banner;
    out->ehlo = smtp_session_seen(s)->ehlo;
    smtp_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_outcome_t lines, drip, cuts;

    fuzz_replies(data, size);
    fuzz_ehlo_lines(data, size);
    fuzz_session(data, size, FUZZ_LINES, &lines);
    fuzz_session(data, size, FUZZ_CUTS, &cuts);
    if (size <= FUZZ_DRIP_MAX) {
        fuzz_session(data, size, FUZZ_DRIP, &drip);
        FUZZ_ASSERT(lines.state == drip.state);
        FUZZ_ASSERT(lines.err == drip.err);
        FUZZ_ASSERT(lines.sent == drip.sent);
        FUZZ_ASSERT(fuzz_same_reply(&lines.banner, &drip.banner));
        FUZZ_ASSERT(fuzz_same_ehlo(&lines.ehlo, &drip.ehlo));
    }
    return 0;
}
