/* tool_common.h - what the operator subcommands (tools.h) share: the key
 * material an operator holds (a certificate, a chain, a public or
 * private key, read from PEM or DER files or taken from a handshake),
 * the TLSA association data computed from it (RFC 6698 §2.1), and
 * whether a published record matches it.
 *
 * No I/O other than reading the one file tool_material_load() is given;
 * messages go into caller-owned buffers.
 */
#ifndef DANESCAN_TOOL_COMMON_H
#define DANESCAN_TOOL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "model.h"

/* Exit statuses every subcommand uses: 3 is a usage error (or an
 * internal one), as for danescan itself. */
enum { TOOL_EXIT_OK = 0, TOOL_EXIT_NOT_YET = 1, TOOL_EXIT_FAILED = 2, TOOL_EXIT_USAGE = 3 };

/* A file larger than this is not a certificate chain (DESIGN.md limits
 * a served chain to 100 KiB; a file may hold a key and comments too). */
#define TOOL_FILE_MAX (1024 * 1024)
#define TOOL_CHAIN_MAX 10

typedef enum {
    TOOL_MATERIAL_CHAIN,        /* one or more certificates, leaf first */
    TOOL_MATERIAL_PUBLIC_KEY,   /* a SubjectPublicKeyInfo, no certificate */
    TOOL_MATERIAL_PRIVATE_KEY,  /* a private key: its public half is used */
} tool_material_kind_t;

typedef struct {
    tool_material_kind_t kind;
    X509 *certs[TOOL_CHAIN_MAX];    /* CHAIN: leaf first; owned */
    size_t n_certs;
    EVP_PKEY *key;                  /* the leaf's key (CHAIN), or the key itself; owned */
    char note[256];                 /* a warning worth showing ("" when none) */
} tool_material_t;

/* Read path: PEM (certificates, leaf first, optionally with the private
 * key before them as Postfix's chain files have it; or one public or
 * private key) or DER (one certificate, SubjectPublicKeyInfo or private
 * key).  0 on success; -1 with a sentence in err (missing file, not a
 * certificate or key, an encrypted key, too many certificates). */
int tool_material_load(const char *path, tool_material_t *out, char *err, size_t errlen);

/* Take references to a served chain (leaf first). 0 or -1 with err. */
int tool_material_from_chain(STACK_OF(X509) *chain, tool_material_t *out, char *err,
                             size_t errlen);

void tool_material_free(tool_material_t *m);

/* "certificate", "chain", "public-key", "private-key" */
const char *tool_material_kind_name(const tool_material_t *m);

/* RFC 6698 §2.1.2 / §2.1.3: the association data of selector (0 the
 * whole certificate, 1 its SubjectPublicKeyInfo) and matching type (0
 * full, 1 SHA-256, 2 SHA-512), from cert, or from key when cert is NULL
 * (selector 1 only).  *out is malloc'd.  0, or -1 with err. */
int tool_tlsa_data(X509 *cert, EVP_PKEY *key, int selector, int mtype, uint8_t **out,
                   size_t *out_len, char *err, size_t errlen);

/* Lower-case hex of data, malloc'd; NULL when memory ran out. */
char *tool_hex(const uint8_t *data, size_t len);

/* The host name a certificate is for: its first DNS subjectAltName that
 * is a usable host name (wildcards are not), else its CN; normalised as
 * runner_domain_name does.  NULL when there is none. */
const char *tool_cert_host(X509 *cert, char *buf, size_t len);

/* "RSA", "EC", "Ed25519", "Ed448", ... ("unknown" for others). */
const char *tool_key_family(EVP_PKEY *key);

/* Three answers to "does this record match that?": a SHA-512 digest
 * cannot be compared with the SHA-256 digests a scan keeps, and a key
 * alone says nothing about a whole-certificate record. */
typedef enum { TOOL_MATCH_NO, TOOL_MATCH_YES, TOOL_MATCH_UNKNOWN } tool_match_t;

const char *tool_match_name(tool_match_t match);   /* "no", "yes", "unknown" */

/* Does record r (its selector, matching type and data; not its usage)
 * match cert, or key when cert is NULL?  UNKNOWN only for a selector-0
 * record and a bare key, or data that is not hex. */
tool_match_t tool_record_matches(const model_tlsa_record_t *r, X509 *cert, EVP_PKEY *key);

/* Does record r match a certificate known only by the SHA-256 digests of
 * its DER form and SubjectPublicKeyInfo (model_cert_t's)?  Full (0)
 * records are hashed to compare; SHA-512 (2) records are UNKNOWN. */
tool_match_t tool_record_matches_digests(const model_tlsa_record_t *r, const char *cert_sha256,
                                         const char *spki_sha256);

/* SHA-256 of cert's DER form (selector 0) or of the SubjectPublicKeyInfo
 * of cert or key (selector 1), as lower-case hex into out[65].  false
 * when it cannot be computed (selector 0 without a certificate). */
bool tool_sha256_hex(X509 *cert, EVP_PKEY *key, int selector, char out[65]);

#endif
