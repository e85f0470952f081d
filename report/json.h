/* json.h - the JSON report of one domain: DESIGN.md's report contract,
 * described field by field in report/schema.json.  One object per
 * domain, written as one line (JSON Lines).
 */
#ifndef DANESCAN_REPORT_JSON_H
#define DANESCAN_REPORT_JSON_H

#include <jansson.h>
#include <stdio.h>

#include "model.h"

/* The report object of d, a new reference the caller owns; NULL when out
 * of memory.  Every string in it is printable ASCII. */
json_t *report_json_domain(const model_domain_t *d);

/* d as one JSON Lines record on out, newline-terminated and flushed:
 * 0, or -1 when the record could not be built or written. */
int report_json_write(FILE *out, const model_domain_t *d);

#endif
