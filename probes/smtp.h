/* smtp.h - the SMTP side of a STARTTLS probe, as a sans-I/O state machine,
 * and the pure reply and EHLO parsers it is built on.
 *
 * The event loop owns the socket, the TLS object and the timers.  This
 * module never does I/O, never allocates after smtp_session_new(), never
 * prints: it consumes the bytes the driver read and says what it wants
 * next.  A driver loop:
 *
 *   want = smtp_session_want(s);                  (SMTP_WANT_READ: the banner)
 *   READ:  n = read(...); want = n > 0 ? smtp_session_input(s, buf, n)
 *                                      : smtp_session_eof(s);
 *   WRITE: p = smtp_session_pending(s, &len); n = write(p, len);
 *          want = smtp_session_sent(s, n);
 *   TLS:   handshake on the socket; then want = smtp_session_tls_ready(s)
 *          and from now on input() gets decrypted bytes, pending() bytes
 *          go through the TLS connection;
 *   CLOSE: done: smtp_session_state() is SMTP_STATE_DONE or _FAILED.
 *
 * The driver reads only when told SMTP_WANT_READ; bytes given while a
 * command is still pending are kept (up to SMTP_IN_CAP) and parsed once
 * it is sent.  Deadlines are the driver's (DESIGN.md: 30 s per phase;
 * smtp_session_state() names the phase).
 *
 * Server text is censored before it is stored anywhere: every byte
 * outside printable ASCII (0x20-0x7e) is replaced by '?', never dropped,
 * so lengths survive and a NUL cannot cut a string short.  Every string
 * this module hands out is NUL-terminated printable ASCII.
 */
#ifndef DANESCAN_SMTP_H
#define DANESCAN_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* DESIGN.md limits: a reply line (CRLF not counted) / a whole reply. */
#define SMTP_LINE_MAX 2048
#define SMTP_REPLY_BYTES_MAX 65536      /* line endings included */
#define SMTP_REPLY_LINES_MAX 100
/* What is kept of a reply's text: the lines' text (code and separator
 * stripped) joined by one space, then cut; the cut is flagged. */
#define SMTP_TEXT_KEEP 512
/* Capabilities kept per EHLO reply, and characters kept of each; the
 * rest are counted (smtp_ehlo_t.dropped) or cut (.truncated). */
#define SMTP_EHLO_CAPS_MAX 32
#define SMTP_EHLO_KEYWORD_KEEP 32
#define SMTP_EHLO_PARAMS_KEEP 80
/* RFC 5321 §4.5.3.1.2: a domain is at most 255 octets. */
#define SMTP_HELO_MAX 255
/* Input buffered: one longest line (CRLF included) plus room to spare. */
#define SMTP_IN_CAP 4096
#define SMTP_REASON_MAX 256
/* The machine only moves forward: 6 transitions at most. */
#define SMTP_TRACE_MAX 8

typedef enum {
    SMTP_OK = 0,
    SMTP_ERR_LINE_TOO_LONG,     /* a reply line over SMTP_LINE_MAX */
    SMTP_ERR_REPLY_TOO_LONG,    /* over SMTP_REPLY_BYTES_MAX or SMTP_REPLY_LINES_MAX */
    SMTP_ERR_BAD_REPLY,         /* a line that is not RFC 5321 §4.2 reply syntax */
    SMTP_ERR_BAD_CODE_MIX,      /* lines of one reply with different codes */
    SMTP_ERR_UNEXPECTED_CODE,   /* well-formed, but not an answer to what we sent */
    SMTP_ERR_BANNER_REJECTED,   /* 4xx/5xx greeting */
    SMTP_ERR_EHLO_REJECTED,     /* 4xx/5xx to EHLO, before or after TLS */
    SMTP_ERR_NO_STARTTLS,       /* EHLO succeeded without offering STARTTLS */
    SMTP_ERR_STARTTLS_REJECTED, /* 4xx/5xx to STARTTLS */
    SMTP_ERR_STARTTLS_INJECTION,/* plaintext after the STARTTLS 220 (CVE-2011-0411 class) */
    SMTP_ERR_UNEXPECTED_DATA,   /* the peer sent more than we buffer while we were writing */
    SMTP_ERR_CLOSED,            /* the peer closed before the dialogue ended */
    SMTP_ERR_USAGE,             /* the driver called out of order: a bug, not the peer */
    SMTP_ERR_COUNT
} smtp_error_t;

/* Stable lower-case names ("line-too-long", "starttls-injection", ...):
 * reports and tests key on them. */
const char *smtp_error_name(smtp_error_t err);

/* ---- the reply parser (RFC 5321 §4.2) -------------------------------- */

/* One reply, read incrementally.  Caller-owned (a plain value, so that
 * parsers can be fed from tests and fuzzers without a session). */
typedef struct {
    int code;                   /* 0 until the first line is read */
    size_t lines;
    size_t bytes;               /* on the wire, line endings included */
    bool complete;              /* the last line has been read */
    bool bare_lf;               /* a line ended in LF without CR (accepted) */
    bool truncated;             /* text was cut at SMTP_TEXT_KEEP */
    size_t text_len;
    char text[SMTP_TEXT_KEEP + 1]; /* censored, NUL-terminated */
} smtp_reply_t;

/* One EHLO capability (RFC 5321 §4.1.1.1 ehlo-line).  The keyword ends at
 * SP, TAB or '=' (so the old "AUTH=PLAIN" form reads as AUTH, as in
 * Postfix) and is upper-cased; params is the rest of the line. */
typedef struct {
    char keyword[SMTP_EHLO_KEYWORD_KEEP + 1];   /* censored, upper case */
    char params[SMTP_EHLO_PARAMS_KEEP + 1];     /* censored */
} smtp_ehlo_cap_t;

typedef struct {
    size_t lines;               /* lines seen, the greeting line included */
    bool starttls;              /* STARTTLS was among the keywords */
    bool truncated;             /* some keyword or params were cut */
    size_t dropped;             /* capabilities beyond SMTP_EHLO_CAPS_MAX */
    size_t ncaps;
    smtp_ehlo_cap_t caps[SMTP_EHLO_CAPS_MAX];
} smtp_ehlo_t;

void smtp_reply_init(smtp_reply_t *reply);

/* Read whole lines of one reply from buf into reply, stopping after its
 * last line; *consumed says how many bytes were used (a partial line is
 * left for the next call, with more bytes after it).  SMTP_OK when the
 * input was fine so far: reply->complete says whether the reply ended.
 * Otherwise the error (line/reply too long, bad reply, code mix) makes
 * the rest of the stream unusable.  Lines may end in CRLF or a bare LF.
 * With ehlo non-NULL, every line of a 250 reply is also handed to
 * smtp_ehlo_add_line(). */
smtp_error_t smtp_reply_parse(smtp_reply_t *reply, smtp_ehlo_t *ehlo,
                              const uint8_t *buf, size_t len, size_t *consumed);

void smtp_ehlo_init(smtp_ehlo_t *ehlo);

/* The EHLO parser, one line at a time: text is a line of a 250 reply to
 * EHLO with its code and separator stripped ("STARTTLS", "SIZE 1000").
 * The first line is the server's greeting, not a capability.  Any bytes
 * are accepted; lines with no keyword are skipped. */
void smtp_ehlo_add_line(smtp_ehlo_t *ehlo, const uint8_t *text, size_t len);

/* The capability with this keyword (compared case-insensitively), or NULL.
 * Borrowed from ehlo. */
const smtp_ehlo_cap_t *smtp_ehlo_find(const smtp_ehlo_t *ehlo, const char *keyword);

/* ---- the session ----------------------------------------------------- */

/* The state names the reply being waited for (or what comes next). */
typedef enum {
    SMTP_STATE_BANNER,          /* waiting for the 220 greeting */
    SMTP_STATE_EHLO,            /* EHLO sent (or being sent) */
    SMTP_STATE_STARTTLS,
    SMTP_STATE_TLS_HANDSHAKE,   /* the driver's turn: SMTP_WANT_TLS */
    SMTP_STATE_EHLO_TLS,        /* EHLO again, inside TLS */
    SMTP_STATE_QUIT,            /* QUIT sent: a reply or EOF ends the session */
    SMTP_STATE_DONE,            /* the whole dialogue worked */
    SMTP_STATE_FAILED,          /* see smtp_session_error() */
    SMTP_STATE_COUNT
} smtp_state_t;

/* Stable lower-case names ("banner", "ehlo-tls", ...). */
const char *smtp_state_name(smtp_state_t state);

typedef enum {
    SMTP_WANT_READ,             /* give me the peer's next bytes, or EOF */
    SMTP_WANT_WRITE,            /* send smtp_session_pending() */
    SMTP_WANT_TLS,              /* do the TLS handshake, then smtp_session_tls_ready() */
    SMTP_WANT_CLOSE,            /* finished: close the connection */
} smtp_want_t;

typedef struct {
    smtp_state_t from, to;
} smtp_transition_t;

/* What the dialogue showed, for the report. */
typedef struct {
    smtp_reply_t banner;        /* code 0 if no complete greeting came */
    smtp_reply_t last;          /* the last complete reply, whatever it answered */
    smtp_ehlo_t ehlo;           /* before TLS; ehlo.starttls: STARTTLS offered */
    smtp_ehlo_t ehlo_tls;       /* after TLS (RFC 3207 §4.2: the only list to trust) */
    bool tls;                   /* the driver reported the handshake done */
    bool bare_lf;               /* some line ended in a bare LF (RFC 5321 §2.3.8) */
} smtp_seen_t;

typedef struct smtp_session smtp_session_t;

/* True when name can follow "EHLO ": 1 to SMTP_HELO_MAX printable ASCII
 * characters, no space (a domain or an address literal). */
bool smtp_helo_valid(const char *name);

/* A session that will greet as helo_name (copied).  NULL when the name is
 * not smtp_helo_valid() or on allocation failure. */
smtp_session_t *smtp_session_new(const char *helo_name);
void smtp_session_free(smtp_session_t *s);

smtp_want_t smtp_session_want(const smtp_session_t *s);

/* Bytes read from the peer: plaintext before TLS, decrypted after. */
smtp_want_t smtp_session_input(smtp_session_t *s, const uint8_t *data, size_t len);
/* The peer closed its side (or the connection broke). */
smtp_want_t smtp_session_eof(smtp_session_t *s);
/* Bytes to send (borrowed; valid until the next call on s); *len 0 when none. */
const uint8_t *smtp_session_pending(const smtp_session_t *s, size_t *len);
/* n of the pending bytes went out. */
smtp_want_t smtp_session_sent(smtp_session_t *s, size_t n);
/* The driver finished the TLS handshake asked for by SMTP_WANT_TLS. */
smtp_want_t smtp_session_tls_ready(smtp_session_t *s);

smtp_state_t smtp_session_state(const smtp_session_t *s);
/* SMTP_OK, or why the session failed (or is failing: a refused EHLO or
 * STARTTLS still says QUIT before SMTP_STATE_FAILED).  *reason (if reason
 * is non-NULL) is borrowed, "" when SMTP_OK. */
smtp_error_t smtp_session_error(const smtp_session_t *s, const char **reason);
const smtp_seen_t *smtp_session_seen(const smtp_session_t *s);
/* The state changes so far, oldest first; returns their number. */
size_t smtp_session_trace(const smtp_session_t *s, const smtp_transition_t **trace);

#endif
