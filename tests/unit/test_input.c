/* test_input.c - what an input line becomes: a domain name in A-label
 * form, or an error record with a reason. */
#include "check.h"
#include "runner.h"

static const struct {
    const char *line;
    const char *want;       /* NULL: rejected */
    const char *why;        /* a piece of the reason when rejected */
} rows[] = {
    {"example.org", "example.org", NULL},
    {"  Example.ORG.  # comment", "example.org", NULL},
    {"example.org\r\n", "example.org", NULL},
    {"_dmarc.example.org", "_dmarc.example.org", NULL},
    {"b\xc3\xbc" "cher.example", "xn--bcher-kva.example", NULL},
    {"B\xc3\x9c" "CHER.example", "xn--bcher-kva.example", NULL},
    {"example.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", "example.xn--zckzah", NULL},
    {"bad\xff.example", NULL, "internationalised"},
    {"", NULL, "empty name"},
    {"example..org", NULL, "empty label"},
    {".example.org", NULL, "empty label"},
    {"localhost", NULL, "fully qualified"},
    {"192.0.2.1", NULL, "IP address"},
    {"2001:db8::1", NULL, "IP address"},
    {"[192.0.2.1]", NULL, "IP address"},
    {"-bad.example", NULL, "hyphen"},
    {"bad-.example", NULL, "hyphen"},
    {"exa$mple.org", NULL, "not allowed"},
    {"exa\x01mple.org", NULL, "control character"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org", NULL, "63"},
};

int main(void)
{
    char buf[260], label[64 * 5];
    const char *why;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        why = NULL;
        const char *got = runner_domain_name(rows[i].line, buf, sizeof(buf), &why);
        CHECK_STR(rows[i].line, got, rows[i].want);
        if (rows[i].why != NULL)
            CHECK(why != NULL && strstr(why, rows[i].why) != NULL, "%s: reason \"%s\", want \"%s\"",
                  rows[i].line, why ? why : "(none)", rows[i].why);
    }
    /* 253 characters is the longest name; 254 is too long */
    memset(label, 'a', sizeof(label));
    for (size_t i = 63; i < sizeof(label); i += 64)
        label[i] = '.';
    label[253] = '\0';
    label[252] = 'x';
    CHECK(runner_domain_name(label, buf, sizeof(buf), &why) != NULL, "253 characters rejected: %s", why);
    memset(label, 'a', sizeof(label));
    for (size_t i = 63; i < sizeof(label); i += 64)
        label[i] = '.';
    label[254] = '\0';
    CHECK(runner_domain_name(label, buf, sizeof(buf), &why) == NULL, "254 characters accepted");
    return check_summary();
}
