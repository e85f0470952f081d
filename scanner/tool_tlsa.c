/* tool_tlsa.c - danescan tlsa: the TLSA records an operator publishes
 * for an SMTP server (RFC 6698 §2, RFC 7672 §3.1), from a certificate,
 * a chain, a key, a live server, or a key and certificate made here as
 * the operators' guide's keyGenMX_Dane.sh makes them
 * (seeds/mx-server-and-tls.txt).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "runner.h"
#include "smtp.h"
#include "tool_common.h"
#include "tool_fetch.h"
#include "tools.h"

#define TLSATOOL_DEFAULT_DAYS 1096          /* keyGenMX_Dane.sh: three years */
#define TLSATOOL_DEFAULT_KEY "rsa3072"      /* keyGenMX_Dane.sh's key */
#define TLSATOOL_DEFAULT_TIMEOUT_S 30       /* DESIGN.md limits: each phase */
#define TLSATOOL_DEFAULT_HELO "danescan.invalid"
#define TLSATOOL_NAMES_MAX 32

typedef struct {
    const char *file;
    const char *server;         /* --from-server HOST[:PORT] */
    const char *host;           /* --host, normalised */
    char host_buf[256];
    int port;                   /* the owner's port */
    int usage;                  /* 0: not given */
    bool ta;
    int depth;                  /* -1: not given */
    int selectors[2];
    size_t n_selectors;
    bool selectors_given;
    int mtypes[3];
    size_t n_mtypes;
    bool generate;
    const char *key_type;
    int days;
    const char *out_dir;
    char *names[TLSATOOL_NAMES_MAX];  /* --generate: MXNAME and more names, normalised; owned */
    size_t n_names;
    bool allow_private;
    int timeout_s;
    const char *helo;
} tlsatool_opts_t;

static void tlsatool_usage(FILE *f)
{
    fputs("usage: danescan tlsa [OPTIONS] FILE\n"
          "       danescan tlsa [OPTIONS] --from-server HOST[:PORT]\n"
          "       danescan tlsa [OPTIONS] --generate MXNAME [NAME...]\n"
          "Print the TLSA records (zone-file syntax) that pin an SMTP server's certificate\n"
          "or key.  By default two DANE-EE records: 3 1 1 (SHA-256 of the public key) and\n"
          "3 0 1 (SHA-256 of the whole certificate), as the operators' guides recommend;\n"
          "a bare key gives 3 1 1 only.\n"
          "Input (one of):\n"
          "  FILE                    certificate or chain (PEM, leaf first; or DER), or a\n"
          "                          public or private key (only its public half is used)\n"
          "  --from-server HOST[:PORT]  the chain the server sends after EHLO and STARTTLS\n"
          "                          (PORT default: --port)\n"
          "  --generate MXNAME [NAME...]  make a new key and self-signed X.509v3 certificate\n"
          "                          for MXNAME (NAMEs: more subjectAltNames), print its records\n"
          "Records:\n"
          "      --host NAME         owner _PORT._tcp.NAME. (default: the certificate's first\n"
          "                          DNS name, else its CN; --from-server: HOST if it is a name)\n"
          "      --port N            the owner's port (default 25)\n"
          "      --usage U           3 DANE-EE (default) or 2 DANE-TA (0, 1: unusable for SMTP)\n"
          "      --ta                DANE-TA record for the top of the chain (the root)\n"
          "      --depth N           DANE-TA record for chain element N (0 = leaf; default 1, the\n"
          "                          issuing CA; a file with one certificate is the CA itself)\n"
          "      --selector LIST     1 (public key), 0 (whole certificate); default 1,0\n"
          "      --mtype LIST        1 (SHA-256, default), 2 (SHA-512), 0 (full data: if asked)\n"
          "Server (--from-server):\n"
          "      --allow-private     allow loopback/private/reserved addresses\n"
          "      --timeout SECONDS   deadline of each phase: connect, banner, EHLO, STARTTLS,\n"
          "                          handshake (default 30)\n"
          "      --helo NAME         EHLO name (default " TLSATOOL_DEFAULT_HELO ")\n"
          "Generate (--generate):\n"
          "      --key-type TYPE     rsa3072 (default), rsa2048, rsa4096 or ec256 (ECDSA P-256)\n"
          "      --days N            validity in days (default 1096, three years)\n"
          "      --out-dir DIR       where MXNAME-MX-YYYYMMDD.key (mode 0600) and\n"
          "                          MXNAME-MX-SS-YYYYMMDD.crt go (default: .)\n"
          "  -h, --help              this text\n"
          "Exit status: 0 records printed, 2 the server gave no certificate, 3 usage error,\n"
          "unreadable input or internal error.\n", f);
}

__attribute__((format(printf, 1, 2)))
static int tlsatool_fail_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("danescan tlsa: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'danescan tlsa --help'.\n", stderr);
    return TOOL_EXIT_USAGE;
}

/* "1,0": each value once, from 0 to max. */
static bool tlsatool_parse_list(const char *s, int max, int *out, size_t cap, size_t *n)
{
    char buf[32];
    char *save = NULL;

    if (strlen(s) >= sizeof(buf))
        return false;
    snprintf(buf, sizeof(buf), "%s", s);
    *n = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        int v;
        if (!runner_parse_int(tok, 0, max, &v) || *n == cap)
            return false;
        for (size_t i = 0; i < *n; i++)
            if (out[i] == v)
                return false;
        out[(*n)++] = v;
    }
    return *n > 0;
}

/* A name for the certificate: a host name, or "*." and one (extra names only). */
static char *tlsatool_cert_name(const char *arg, bool wildcard_ok)
{
    char buf[256];
    const char *why = NULL;
    bool wild = wildcard_ok && strncmp(arg, "*.", 2) == 0;
    const char *name;

    if (strpbrk(arg, " \t\r\n") != NULL)
        return NULL;
    if ((name = runner_domain_name(wild ? arg + 2 : arg, buf, sizeof(buf), &why)) == NULL)
        return NULL;
    if (!wild)
        return strdup(name);
    char *out = NULL;
    if (asprintf(&out, "*.%s", name) < 0)
        return NULL;
    return out;
}

static void tlsatool_opts_free(tlsatool_opts_t *o)
{
    for (size_t i = 0; i < o->n_names; i++)
        free(o->names[i]);
    o->n_names = 0;
}

static int tlsatool_parse_options(int argc, char **argv, tlsatool_opts_t *o)
{
    enum { O_FROM = 256, O_HOST, O_PORT, O_USAGE, O_TA, O_DEPTH, O_SELECTOR, O_MTYPE, O_GENERATE,
           O_KEY_TYPE, O_DAYS, O_OUT_DIR, O_PRIVATE, O_TIMEOUT, O_HELO };
    static const struct option longopts[] = {
        {"from-server", required_argument, 0, O_FROM}, {"host", required_argument, 0, O_HOST},
        {"port", required_argument, 0, O_PORT}, {"usage", required_argument, 0, O_USAGE},
        {"ta", no_argument, 0, O_TA}, {"depth", required_argument, 0, O_DEPTH},
        {"selector", required_argument, 0, O_SELECTOR}, {"mtype", required_argument, 0, O_MTYPE},
        {"generate", no_argument, 0, O_GENERATE}, {"key-type", required_argument, 0, O_KEY_TYPE},
        {"days", required_argument, 0, O_DAYS}, {"out-dir", required_argument, 0, O_OUT_DIR},
        {"allow-private", no_argument, 0, O_PRIVATE}, {"timeout", required_argument, 0, O_TIMEOUT},
        {"helo", required_argument, 0, O_HELO}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *why = NULL;
    int c;

    o->port = 25;
    o->depth = -1;
    o->selectors[0] = 1;
    o->selectors[1] = 0;
    o->n_selectors = 2;
    o->mtypes[0] = 1;
    o->n_mtypes = 1;
    o->key_type = TLSATOOL_DEFAULT_KEY;
    o->days = TLSATOOL_DEFAULT_DAYS;
    o->out_dir = ".";
    o->timeout_s = TLSATOOL_DEFAULT_TIMEOUT_S;
    o->helo = TLSATOOL_DEFAULT_HELO;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_FROM: o->server = optarg; break;
        case O_HOST:
            if (strpbrk(optarg, " \t\r\n") != NULL ||
                (o->host = runner_domain_name(optarg, o->host_buf, sizeof(o->host_buf),
                                              &why)) == NULL)
                return tlsatool_fail_usage("--host '%s': %s", optarg,
                                           why ? why : "not a host name");
            break;
        case O_PORT:
            if (!runner_parse_int(optarg, 1, 65535, &o->port))
                return tlsatool_fail_usage("--port wants 1-65535, not '%s'", optarg);
            break;
        case O_USAGE:
            if (!runner_parse_int(optarg, 0, 255, &o->usage))
                return tlsatool_fail_usage("--usage wants 3 (DANE-EE) or 2 (DANE-TA), not '%s'",
                                           optarg);
            /* RFC 7672 §3.1.3: SMTP clients treat PKIX usages as unusable */
            if (o->usage == 0 || o->usage == 1)
                return tlsatool_fail_usage("usage %d (PKIX-%s) is unusable for SMTP "
                                           "(RFC 7672 §3.1.3): use 3 (DANE-EE) or 2 (DANE-TA)",
                                           o->usage, o->usage == 0 ? "TA" : "EE");
            if (o->usage != 2 && o->usage != 3)
                return tlsatool_fail_usage("usage %d does not exist: use 3 (DANE-EE) or "
                                           "2 (DANE-TA)", o->usage);
            break;
        case O_TA: o->ta = true; break;
        case O_DEPTH:
            if (!runner_parse_int(optarg, 0, TOOL_CHAIN_MAX - 1, &o->depth))
                return tlsatool_fail_usage("--depth wants 0-%d, not '%s'", TOOL_CHAIN_MAX - 1,
                                           optarg);
            break;
        case O_SELECTOR:
            if (!tlsatool_parse_list(optarg, 1, o->selectors, 2, &o->n_selectors))
                return tlsatool_fail_usage("--selector wants 0, 1 or 0,1, not '%s'", optarg);
            o->selectors_given = true;
            break;
        case O_MTYPE:
            if (!tlsatool_parse_list(optarg, 2, o->mtypes, 3, &o->n_mtypes))
                return tlsatool_fail_usage("--mtype wants a list of 1 (SHA-256), 2 (SHA-512), "
                                       "0 (full), not '%s'", optarg);
            break;
        case O_GENERATE: o->generate = true; break;
        case O_KEY_TYPE:
            if (strcmp(optarg, "rsa2048") != 0 && strcmp(optarg, "rsa3072") != 0 &&
                strcmp(optarg, "rsa4096") != 0 && strcmp(optarg, "ec256") != 0)
                return tlsatool_fail_usage("--key-type wants rsa2048, rsa3072, rsa4096 or ec256, "
                                       "not '%s'", optarg);
            o->key_type = optarg;
            break;
        case O_DAYS:
            if (!runner_parse_int(optarg, 1, 36500, &o->days))
                return tlsatool_fail_usage("--days wants 1-36500, not '%s'", optarg);
            break;
        case O_OUT_DIR: o->out_dir = optarg; break;
        case O_PRIVATE: o->allow_private = true; break;
        case O_TIMEOUT:
            if (!runner_parse_int(optarg, 1, 3600, &o->timeout_s))
                return tlsatool_fail_usage("--timeout wants 1-3600 seconds, not '%s'", optarg);
            break;
        case O_HELO:
            if (!smtp_helo_valid(optarg))
                return tlsatool_fail_usage("--helo wants a valid host name, not '%s'", optarg);
            o->helo = optarg;
            break;
        case 'h': tlsatool_usage(stdout); exit(TOOL_EXIT_OK);
        case ':': return tlsatool_fail_usage("%s needs a value", argv[optind - 1]);
        default:
            return tlsatool_fail_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if ((o->file != NULL) + (o->server != NULL) + o->generate > 1 ||
        (o->server != NULL && optind < argc) || (o->generate && o->server != NULL))
        return tlsatool_fail_usage("give one input: a FILE, --from-server HOST or "
                                   "--generate MXNAME");
    if (o->generate) {
        if (optind == argc)
            return tlsatool_fail_usage("--generate needs the MX host name (and more names if "
                                       "wanted)");
        for (int i = optind; i < argc; i++) {
            if (o->n_names == TLSATOOL_NAMES_MAX)
                return tlsatool_fail_usage("more than %d names", TLSATOOL_NAMES_MAX);
            if ((o->names[o->n_names] = tlsatool_cert_name(argv[i], i > optind)) == NULL)
                return tlsatool_fail_usage("'%s' is not a host name", argv[i]);
            o->n_names++;
        }
    } else if (o->server == NULL) {
        if (optind == argc)
            return tlsatool_fail_usage("no input: give a FILE, --from-server HOST or "
                                       "--generate MXNAME");
        if (argc - optind > 1)
            return tlsatool_fail_usage("one FILE at a time ('%s' is one too many)",
                                       argv[optind + 1]);
        o->file = argv[optind];
    }
    /* --ta and --depth name a trust anchor: DANE-TA unless told otherwise */
    if ((o->ta || o->depth > 0) && o->usage == 3)
        return tlsatool_fail_usage("DANE-EE (usage 3) records are for the server's own "
                                   "certificate, depth 0; --ta and --depth are for DANE-TA "
                                   "(usage 2)");
    if (o->ta && o->depth >= 0)
        return tlsatool_fail_usage("--ta or --depth, not both");
    if (o->usage == 0)
        o->usage = (o->ta || o->depth > 0) ? 2 : 3;
    if (o->generate && o->usage == 2)
        return tlsatool_fail_usage("--generate makes a self-signed server certificate: "
                               "its records are DANE-EE (usage 3)");
    return 0;
}

/* ------------------------------------------------------------ --generate */

static EVP_PKEY *tlsatool_keygen(const char *type)
{
    if (strcmp(type, "ec256") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(type + 3));
}

static bool tlsatool_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    bool ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;

    X509_EXTENSION_free(ext);
    return ok;
}

/* RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 16 random
 * ones make it unique without a register. */
static bool tlsatool_serial(X509 *x)
{
    unsigned char raw[16];
    BIGNUM *bn;
    bool ok;

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return false;
    raw[0] = (unsigned char)((raw[0] & 0x7f) | 0x01);
    bn = BN_bin2bn(raw, sizeof(raw), NULL);
    ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

/* keyGenMX_Dane.sh's certificate: X.509v3, self-signed, CN = the MX name,
 * every name a DNS subjectAltName, basicConstraints critical CA:FALSE,
 * extendedKeyUsage serverAuth and clientAuth, SHA-256. */
static X509 *tlsatool_self_signed(const tlsatool_opts_t *o, EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_NAME *name = NULL;
    X509V3_CTX ctx;
    char *san = NULL;
    size_t san_len = 0;
    FILE *sf = NULL;
    bool ok = false;

    if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 || !tlsatool_serial(x))
        goto done;
    if ((name = X509_NAME_new()) == NULL ||
        X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
                                   (const unsigned char *)o->names[0], -1, -1, 0) != 1 ||
        X509_set_subject_name(x, name) != 1 || X509_set_issuer_name(x, name) != 1)
        goto done;
    if (X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), o->days, 0, NULL) == NULL ||
        X509_set_pubkey(x, key) != 1)
        goto done;
    if ((sf = open_memstream(&san, &san_len)) == NULL)
        goto done;
    for (size_t i = 0; i < o->n_names; i++)
        fprintf(sf, "%sDNS:%s", i ? "," : "", o->names[i]);
    if (fclose(sf) != 0)
        goto done;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    if (!tlsatool_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
        !tlsatool_add_ext(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth") ||
        !tlsatool_add_ext(x, &ctx, NID_subject_alt_name, san) ||
        !tlsatool_add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
        !tlsatool_add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"))
        goto done;
    ok = X509_sign(x, key, EVP_sha256()) > 0;
done:
    free(san);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* Write PEM to a new file of this mode: created so, never chmod'ed later,
 * and never over an existing file. */
static int tlsatool_write_new(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert, char *err,
                          size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    FILE *f;
    bool ok;

    if (fd < 0) {
        snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
                 errno == EEXIST ? " (not overwritten)" : "");
        return -1;
    }
    if ((f = fdopen(fd, "w")) == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    ok = key != NULL ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1
                     : PEM_write_X509(f, cert) == 1;
    if (fclose(f) != 0 || !ok) {
        snprintf(err, errlen, "%s: writing failed", path);
        unlink(path);
        return -1;
    }
    return 0;
}

static int tlsatool_generate(const tlsatool_opts_t *o, tool_material_t *out, char *err,
                             size_t errlen)
{
    char stamp[16], key_path[1024], cert_path[1024];
    struct stat st;
    time_t now = time(NULL);
    struct tm tm;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d", &tm);
    if ((size_t)snprintf(key_path, sizeof(key_path), "%s/%s-MX-%s.key", o->out_dir, o->names[0],
                         stamp) >= sizeof(key_path) ||
        (size_t)snprintf(cert_path, sizeof(cert_path), "%s/%s-MX-SS-%s.crt", o->out_dir,
                         o->names[0], stamp) >= sizeof(cert_path)) {
        snprintf(err, errlen, "%s: path too long", o->out_dir);
        return -1;
    }
    if (stat(o->out_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", o->out_dir);
        return -1;
    }
    /* nothing is written when either file is in the way */
    if (stat(key_path, &st) == 0 || stat(cert_path, &st) == 0) {
        snprintf(err, errlen, "%s exists: not overwritten (one key per MX name and day)",
                 stat(key_path, &st) == 0 ? key_path : cert_path);
        return -1;
    }
    if ((key = tlsatool_keygen(o->key_type)) == NULL ||
        (cert = tlsatool_self_signed(o, key)) == NULL) {
        const char *why = ERR_reason_error_string(ERR_peek_last_error());
        snprintf(err, errlen, "making the %s key and certificate failed: %s", o->key_type,
                 why != NULL ? why : "OpenSSL gave no reason");
        goto done;
    }
    if (tlsatool_write_new(key_path, 0600, key, NULL, err, errlen) != 0)
        goto done;
    if (tlsatool_write_new(cert_path, 0644, NULL, cert, err, errlen) != 0) {
        unlink(key_path);
        goto done;
    }
    fprintf(stderr, "danescan tlsa: private key %s (mode 0600), certificate %s\n", key_path,
            cert_path);
    out->kind = TOOL_MATERIAL_CHAIN;
    out->certs[0] = cert;
    out->n_certs = 1;
    out->key = key;
    cert = NULL;
    key = NULL;
    rc = 0;
done:
    ERR_clear_error();
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

/* ------------------------------------------------------------ --from-server */

/* "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 literal. */
static bool tlsatool_split_server(const char *arg, int default_port, char *host, size_t len,
                                  int *port)
{
    const char *colon = strrchr(arg, ':');
    size_t n;

    *port = default_port;
    if (arg[0] == '[') {
        const char *end = strchr(arg, ']');
        if (end == NULL ||
            (end[1] != '\0' && (end[1] != ':' || !runner_parse_int(end + 2, 1, 65535, port))))
            return false;
        n = (size_t)(end - arg - 1);
        arg++;
    } else if (colon != NULL && strchr(arg, ':') == colon) {
        if (!runner_parse_int(colon + 1, 1, 65535, port))
            return false;
        n = (size_t)(colon - arg);
    } else {
        n = strlen(arg);
    }
    if (n == 0 || n >= len)
        return false;
    memcpy(host, arg, n);
    host[n] = '\0';
    return true;
}

static int tlsatool_from_server(tlsatool_opts_t *o, tool_material_t *out, char *err, size_t errlen)
{
    char host[256], name_buf[256], address[64];
    const char *why = NULL;
    const char *name;
    int port;
    STACK_OF(X509) *chain = NULL;
    tool_fetch_status_t st;
    int rc;

    if (!tlsatool_split_server(o->server, o->port, host, sizeof(host), &port)) {
        snprintf(err, errlen, "--from-server wants HOST[:PORT], not '%s'", o->server);
        return TOOL_EXIT_USAGE;
    }
    /* a name (not an IP literal) is the SNI, and the owner by default */
    name = runner_domain_name(host, name_buf, sizeof(name_buf), &why);
    if (o->host == NULL && name != NULL) {
        snprintf(o->host_buf, sizeof(o->host_buf), "%s", name);
        o->host = o->host_buf;
    }
    tool_fetch_params_t p = {
        .host = host,
        .port = port,
        .sni = o->host,
        .helo = o->helo,
        .timeout_ms = o->timeout_s * 1000,
        .allow_private = o->allow_private,
    };
    st = tool_fetch_chain(&p, &chain, address, sizeof(address), err, errlen);
    if (st == TOOL_FETCH_BLOCKED)
        return TOOL_EXIT_USAGE;
    if (st != TOOL_FETCH_OK)
        return TOOL_EXIT_FAILED;
    fprintf(stderr, "danescan tlsa: %d certificate(s) from %s port %d\n", sk_X509_num(chain),
            address, port);
    rc = tool_material_from_chain(chain, out, err, errlen);
    sk_X509_pop_free(chain, X509_free);
    return rc == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAILED;
}

/* ------------------------------------------------------------ records */

/* The chain element the records are for; -1 with err. */
static int tlsatool_pick_depth(const tlsatool_opts_t *o, const tool_material_t *m, char *err,
                               size_t errlen)
{
    int n = (int)m->n_certs;
    int depth;

    if (m->kind != TOOL_MATERIAL_CHAIN) {
        if (o->ta || o->depth > 0) {
            snprintf(err, errlen, "a key is no chain: --ta and --depth need certificates");
            return -1;
        }
        return 0;
    }
    if (o->usage == 3)
        return 0;
    /* DANE-TA: the issuing CA by default; a lone certificate is the CA */
    depth = o->ta ? n - 1 : o->depth >= 0 ? o->depth : n > 1 ? 1 : 0;
    if (depth >= n) {
        snprintf(err, errlen, "the input holds %d certificate(s): there is no depth %d", n, depth);
        return -1;
    }
    if (X509_check_ca(m->certs[depth]) == 0)
        fprintf(stderr, "danescan tlsa: warning: the certificate at depth %d is not a CA: a "
                "DANE-TA record for it authenticates nothing it did not issue\n", depth);
    if (o->ta && X509_check_issued(m->certs[depth], m->certs[depth]) != X509_V_OK)
        fprintf(stderr, "danescan tlsa: note: the top of the chain (depth %d) is not self-signed: "
                "the root is not in the input, so the record is for that certificate; the server "
                "must send it (RFC 7672 section 3.1.2)\n", depth);
    return depth;
}

static const char *tlsatool_owner_host(const tlsatool_opts_t *o, const tool_material_t *m,
                                       char *buf, size_t len, char *err, size_t errlen)
{
    const char *host;

    if (o->host != NULL)
        return o->host;
    if (m->kind != TOOL_MATERIAL_CHAIN) {
        snprintf(err, errlen, "a key names no host: give --host NAME");
        return NULL;
    }
    if (o->usage == 2 && m->n_certs == 1 && X509_check_ca(m->certs[0]) != 0) {
        snprintf(err, errlen, "a CA certificate does not name the MX host: give --host NAME");
        return NULL;
    }
    if ((host = tool_cert_host(m->certs[0], buf, len)) == NULL)
        snprintf(err, errlen, "the certificate names no usable host (no DNS subjectAltName, no "
                 "host name as CN): give --host NAME");
    return host;
}

static int tlsatool_print_records(const tlsatool_opts_t *o, const tool_material_t *m)
{
    char err[512], buf[256];
    const char *host;
    int depth;
    X509 *cert;
    int selectors[2];
    size_t n_selectors = o->n_selectors;

    if ((depth = tlsatool_pick_depth(o, m, err, sizeof(err))) < 0) {
        fprintf(stderr, "danescan tlsa: %s\n", err);
        return TOOL_EXIT_USAGE;
    }
    cert = m->kind == TOOL_MATERIAL_CHAIN ? m->certs[depth] : NULL;
    memcpy(selectors, o->selectors, sizeof(selectors));
    if (cert == NULL) {
        /* RFC 6698 §2.1.2: selector 0 is a whole certificate; a key has none */
        if (o->selectors_given && (selectors[0] == 0 || (n_selectors > 1 && selectors[1] == 0))) {
            fprintf(stderr, "danescan tlsa: selector 0 is the digest of the whole certificate, and "
                    "a %s is not a certificate: use --selector 1 (the public key), or give the "
                    "certificate\n",
                    m->kind == TOOL_MATERIAL_PRIVATE_KEY ? "private key" : "public key");
            return TOOL_EXIT_USAGE;
        }
        selectors[0] = 1;
        n_selectors = 1;
    }
    if ((host = tlsatool_owner_host(o, m, buf, sizeof(buf), err, sizeof(err))) == NULL) {
        fprintf(stderr, "danescan tlsa: %s\n", err);
        return TOOL_EXIT_USAGE;
    }
    for (size_t s = 0; s < n_selectors; s++) {
        for (size_t k = 0; k < o->n_mtypes; k++) {
            uint8_t *data;
            size_t len;
            char *hex;
            if (tool_tlsa_data(cert, m->key, selectors[s], o->mtypes[k], &data, &len, err,
                               sizeof(err)) != 0 || (hex = tool_hex(data, len)) == NULL) {
                fprintf(stderr, "danescan tlsa: %s\n", err);
                return TOOL_EXIT_USAGE;
            }
            free(data);
            printf("_%d._tcp.%s. IN TLSA %d %d %d %s\n", o->port, host, o->usage, selectors[s],
                   o->mtypes[k], hex);
            free(hex);
        }
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "danescan tlsa: writing the records failed: %s\n", strerror(errno));
        return TOOL_EXIT_USAGE;
    }
    return TOOL_EXIT_OK;
}

int tool_tlsa_main(int argc, char **argv)
{
    tlsatool_opts_t o = {0};
    tool_material_t m = {0};
    char err[2048];
    int rc;

    if ((rc = tlsatool_parse_options(argc, argv, &o)) != 0)
        goto done;
    if (o.generate)
        rc = tlsatool_generate(&o, &m, err, sizeof(err)) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
    else if (o.server != NULL) {
        /* OpenSSL writes to the socket with write(2): a reset peer must
         * not kill the command */
        signal(SIGPIPE, SIG_IGN);
        rc = tlsatool_from_server(&o, &m, err, sizeof(err));
    }
    else
        rc = tool_material_load(o.file, &m, err, sizeof(err)) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
    if (rc != TOOL_EXIT_OK) {
        fprintf(stderr, "danescan tlsa: %s\n", err);
        goto done;
    }
    if (m.note[0] != '\0')
        fprintf(stderr, "danescan tlsa: note: %s\n", m.note);
    if (o.generate && o.host == NULL)
        o.host = o.names[0];
    rc = tlsatool_print_records(&o, &m);
done:
    tool_material_free(&m);
    tlsatool_opts_free(&o);
    return rc;
}
